// GET throughput and client CPU cost through lifeline-net/redis against the plain drivers, in one process and
// one run, against the real server: 16 concurrent callers each awaiting GET in a loop on one client (one
// connection), for ioredis's Redis vs lifeline's Redis and node-redis's createClient vs lifeline's.
//
// Made to hold on a loaded machine (earlier single 1-second rounds swung from 1,000 to 56,000 ops/s):
// - every round runs a fixed number of GETs (not a fixed time), so each round measures the same work;
// - rounds of the two sides of a pair are interleaved A B B A A B …, so drift hits both alike;
// - each ratio is the median of per-pair ratios (round i of ours against round i of the plain driver);
// - besides wall-clock throughput, the process's own CPU time per GET (process.cpuUsage, user + system) is
//   measured per round: the client's cost, which other processes' load disturbs far less than wall time.
//   The CPU ratio is plain CPU per GET / ours (≥ 1 means lifeline costs no more).
// - a full GC before every round (v8 --expose-gc at run time), so no round pays for the garbage of the one before
//   (node-redis allocates several KB per GET: without it, major GCs landed in one side's rounds at random);
// - `--own-server` runs a private redis-server on a free port for the bench, so other users of the machine's
//   Redis (a test's busy script, DEBUG SLEEP, FLUSHALL) cannot stall one side's rounds.
// Standalone: `node --import tsx bench/redis.ts [--rounds N] [--ops N] [--own-server]` (≈ 40 s). Server:
// REDIS_HOST/REDIS_PORT, default 127.0.0.1:6379.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Redis as PlainRedis } from 'ioredis';
import { createClient as plainCreateClient } from 'redis';
import { createClient, Redis } from '../src/adapters/redis/index.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    ops: { type: 'string', default: '16000' },
    'own-server': { type: 'boolean', default: false },
  },
});
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const CALLERS = 16;
const WARMUP_ROUNDS = 2;
const ROUNDS = Math.max(2, Number(flags.rounds));
const OPS_PER_ROUND = Math.max(CALLERS, Number(flags.ops));
let host = process.env.REDIS_HOST ?? '127.0.0.1';
let port = Number(process.env.REDIS_PORT ?? 6379);

/** A redis-server of our own on a port the kernel picked; resolves once it answers. */
async function ownServer(): Promise<ChildProcess> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const free = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const child = spawn(
    'redis-server',
    ['--port', String(free), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(free, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  host = '127.0.0.1';
  port = free;
  return child;
}
const KEY = `lifeline:bench:${process.pid}`;

interface Getter {
  get(key: string): Promise<unknown>;
}

interface Round {
  opsPerSec: number;
  /** Microseconds of this process's CPU (user + system) per GET. */
  cpuUsPerOp: number;
}

/** OPS_PER_ROUND GETs shared by CALLERS loops; wall-clock rate and CPU per operation. */
async function round(client: Getter): Promise<Round> {
  let left = OPS_PER_ROUND;
  gc();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (left > 0) {
        left--;
        await client.get(KEY);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { opsPerSec: OPS_PER_ROUND / seconds, cpuUsPerOp: (used.user + used.system) / OPS_PER_ROUND };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Lower and upper quartile, to show the spread of the per-pair ratios. */
function quartiles(xs: readonly number[]): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] as number;
  return [at(0.25), at(0.75)];
}

interface Side {
  name: string;
  client: Getter;
  rounds: Round[];
}

interface PairResult {
  throughput: number[];
  cpu: number[];
}

async function compare(pair: [Side, Side]): Promise<PairResult> {
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    // A B, B A, A B …: the second of one round and the first of the next are the same side.
    const order = r % 2 === 0 ? pair : [pair[1], pair[0]];
    for (const side of order) {
      const result = await round(side.client);
      if (r >= WARMUP_ROUNDS) side.rounds.push(result);
    }
  }
  const [plain, ours] = pair;
  return {
    throughput: ours.rounds.map((o, i) => o.opsPerSec / (plain.rounds[i] as Round).opsPerSec),
    cpu: ours.rounds.map((o, i) => (plain.rounds[i] as Round).cpuUsPerOp / o.cpuUsPerOp),
  };
}

async function main(): Promise<void> {
  const bail = setTimeout(() => {
    console.error('bench/redis.ts: gave up after 240 s');
    process.exit(1);
  }, 240_000);
  bail.unref();
  const server = flags['own-server'] ? await ownServer() : undefined;
  const plainIo = new PlainRedis({ host, port });
  const ourIo = new Redis({ host, port });
  const plainNode = plainCreateClient({ socket: { host, port } });
  const ourNode = createClient({ socket: { host, port } });
  await Promise.all([plainNode.connect(), ourNode.connect()]);
  await plainIo.set(KEY, 'value');
  const pairs: [Side, Side][] = [
    [
      { name: 'ioredis Redis', client: plainIo, rounds: [] },
      { name: 'lifeline-net/redis Redis', client: ourIo, rounds: [] },
    ],
    [
      { name: 'node-redis createClient', client: plainNode, rounds: [] },
      { name: 'lifeline-net/redis createClient', client: ourNode, rounds: [] },
    ],
  ];
  const results: PairResult[] = [];
  try {
    for (const pair of pairs) results.push(await compare(pair));
  } finally {
    await plainIo.del(KEY);
    plainIo.disconnect();
    ourIo.disconnect();
    plainNode.destroy();
    ourNode.destroy();
    server?.kill();
  }
  const load = os.loadavg().map((l) => l.toFixed(2));
  console.log(
    `GET, ${CALLERS} concurrent callers on one client, ${host}:${port}; ${ROUNDS} interleaved rounds of ` +
      `${OPS_PER_ROUND.toLocaleString('en-US')} GETs per client (after ${WARMUP_ROUNDS} warm-up, full GC before each)` +
      `${server ? ', private redis-server' : ''} — Node ` +
      `${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, load average ${load.join(' ')}\n`,
  );
  console.log(
    '| client | ops/s (median) | CPU µs per GET (median) | throughput ratio (median of pairs) [IQR] | CPU ratio (median of pairs) [IQR] |',
  );
  console.log('|---|---:|---:|---:|---:|');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const ratio = (xs: number[]) => {
    const [lo, hi] = quartiles(xs);
    return `${median(xs).toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`;
  };
  pairs.forEach(([plain, ours], i) => {
    const result = results[i] as PairResult;
    for (const side of [plain, ours]) {
      const ops = median(side.rounds.map((r) => r.opsPerSec));
      const cpu = median(side.rounds.map((r) => r.cpuUsPerOp));
      const cells = side === plain ? ['1', '1'] : [ratio(result.throughput), ratio(result.cpu)];
      console.log(`| ${side.name} | ${fmt(ops)} | ${cpu.toFixed(2)} | ${cells[0]} | ${cells[1]} |`);
    }
  });
  const worst = Math.min(...results.map((r) => median(r.throughput)));
  const worstCpu = Math.min(...results.map((r) => median(r.cpu)));
  console.log(
    `\nTarget ratio ≥ 0.97 — throughput: ${worst >= 0.97 ? 'met' : 'NOT met'} (${results.map((r) => median(r.throughput).toFixed(3)).join(', ')}); ` +
      `CPU: ${worstCpu >= 0.97 ? 'met' : 'NOT met'} (${results.map((r) => median(r.cpu).toFixed(3)).join(', ')})`,
  );
}

await main();
