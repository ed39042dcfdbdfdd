// GET throughput through lifeline-net/redis against the plain drivers, in one process and one run, against
// the real server: 16 concurrent callers each awaiting GET in a loop on one client (one connection), for
// ioredis's Redis vs lifeline's Redis and node-redis's createClient vs lifeline's. Rounds alternate A/B, B/A,
// … so drift hits both alike; each ratio is the median of the per-pair ratios. Standalone:
// `node --import tsx bench/redis.ts` (≈ 45 s). Server: REDIS_HOST/REDIS_PORT, default 127.0.0.1:6379.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis as PlainRedis } from 'ioredis';
import { createClient as plainCreateClient } from 'redis';
import { createClient, Redis } from '../src/adapters/redis/index.js';

const CALLERS = 16;
const ROUND_MS = 1000;
const WARMUP_ROUNDS = 1;
const ROUNDS = 10;
const host = process.env.REDIS_HOST ?? '127.0.0.1';
const port = Number(process.env.REDIS_PORT ?? 6379);
const KEY = `lifeline:bench:${process.pid}`;

interface Getter {
  get(key: string): Promise<unknown>;
}

/** Runs CALLERS loops of GET for ROUND_MS; returns completed GETs per second. */
async function round(client: Getter): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ROUND_MS;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        await client.get(KEY);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Side {
  name: string;
  client: Getter;
  results: number[];
}

async function compare(pair: [Side, Side]): Promise<number> {
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    const order = r % 2 === 0 ? pair : [...pair].reverse();
    for (const side of order) {
      const opsPerSec = await round(side.client);
      if (r >= WARMUP_ROUNDS) side.results.push(opsPerSec);
    }
  }
  return median(pair[1].results.map((r, i) => r / (pair[0].results[i] as number)));
}

async function main(): Promise<void> {
  const bail = setTimeout(() => {
    console.error('bench/redis.ts: gave up after 90 s');
    process.exit(1);
  }, 90_000);
  bail.unref();
  const plainIo = new PlainRedis({ host, port });
  const ourIo = new Redis({ host, port });
  const plainNode = plainCreateClient({ socket: { host, port } });
  const ourNode = createClient({ socket: { host, port } });
  await Promise.all([plainNode.connect(), ourNode.connect()]);
  await plainIo.set(KEY, 'value');
  const pairs: [Side, Side][] = [
    [
      { name: 'ioredis Redis', client: plainIo, results: [] },
      { name: 'lifeline-net/redis Redis', client: ourIo, results: [] },
    ],
    [
      { name: 'node-redis createClient', client: plainNode, results: [] },
      { name: 'lifeline-net/redis createClient', client: ourNode, results: [] },
    ],
  ];
  const ratios: number[] = [];
  try {
    for (const pair of pairs) ratios.push(await compare(pair));
  } finally {
    await plainIo.del(KEY);
    plainIo.disconnect();
    ourIo.disconnect();
    plainNode.destroy();
    ourNode.destroy();
  }
  console.log(
    `GET, ${CALLERS} concurrent callers on one client, ${host}:${port}; ${ROUNDS} alternating ` +
      `${ROUND_MS / 1000} s rounds per client — Node ${process.version}, ${os.cpus()[0]?.model ?? 'CPU'}\n`,
  );
  console.log('| client | ops/s (median) | min | max | ratio vs plain driver (median of pairs) |');
  console.log('|---|---:|---:|---:|---:|');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  pairs.forEach(([plain, ours], i) => {
    for (const side of [plain, ours]) {
      const ratio = side === plain ? 1 : (ratios[i] as number);
      console.log(
        `| ${side.name} | ${fmt(median(side.results))} | ${fmt(Math.min(...side.results))} | ${fmt(Math.max(...side.results))} | ${ratio.toFixed(3)} |`,
      );
    }
  });
  const worst = Math.min(...ratios);
  console.log(
    `\nTarget ratio ≥ 0.97: ${worst >= 0.97 ? 'met' : 'NOT met'} (${ratios.map((r) => r.toFixed(3)).join(', ')})`,
  );
}

await main();
