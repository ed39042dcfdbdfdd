// Reads on replicas (docs/pg.md): what routing costs. Against a private primary and a real streaming replica
// (test/support/pg-cluster.ts; needs root and the PostgreSQL server binaries, else it says so and exits 0):
// 1. the routing decision a routed pool.query makes (AsyncLocalStorage read, read classification, replica pick),
//    timed over 1e6 calls in a loop, against the median round trip of `select 1` on the same primary: target ≤ 2 %;
// 2. write throughput of a pool with replicas against a primary-only pool, same server, 8 concurrent callers,
//    rounds alternating A/B, B/A, …; the ratio is the median of the per-pair ratios (target ≥ 0.99), also per
//    client CPU-second, which a loaded machine disturbs less;
// 3. routed reads against reads on the primary, for information (the replica is another server on the same
//    machine, so no capacity is gained here). Standalone: `node --expose-gc --import tsx bench/pg-replicas.ts`.
// 4. with `--callgrind`: instructions of this process per write (one caller, sequential), primary-only pool vs a
//    pool with routing on, under valgrind: (Ir(long) − Ir(short)) / (long − short), which no load disturbs. Runs
//    against the machine's PostgreSQL (PGHOST/PGPORT, default 127.0.0.1:5432, db test); the routed pool checks
//    roles once a minute there, so that the count is the write path's, not the checks'.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from '../src/adapters/pg/index.js';
import { looksLikeRead, textOf } from '../src/adapters/pg/reads.js';
import type { ReadRouter } from '../src/adapters/pg/replicas.js';
import { currentContext, readYourWrites } from '../src/adapters/pg/rw-context.js';
import { PgCluster } from '../test/support/pg-cluster.js';
import { callgrindPerOp } from './lib/callgrind.js';

const CALLERS = 8;
const ROUND_MS = 1000;
const ROUNDS = 12;

const SERVER = `postgres://${process.env.PGUSER ?? 'postgres'}@${process.env.PGHOST ?? '127.0.0.1'}:${process.env.PGPORT ?? 5432}/${process.env.PGDATABASE ?? 'test'}`;
const WTABLE = 'lifeline_bench_replicas_w';

/** Under valgrind: `ops` sequential writes through one pool (`routed` or `plain`). */
async function child(variant: string, ops: number): Promise<void> {
  const pool = new Pool({
    connectionString: SERVER,
    max: 1,
    lifeline: variant === 'routed' ? { routeReads: true, replicaCheckIntervalMs: 60_000 } : {},
  });
  for (let i = 0; i < 50; i++) await pool.query(`update ${WTABLE} set n = n + 1 where id = $1`, [i % 8]);
  for (let i = 0; i < ops; i++) await pool.query(`update ${WTABLE} set n = n + 1 where id = $1`, [i % 8]);
  await pool.end();
}

function callgrindPerWrite(variant: 'plain' | 'routed', short: number, long: number): number {
  return callgrindPerOp({
    script: fileURLToPath(import.meta.url),
    args: [variant],
    short,
    long,
    timeoutMs: 900_000,
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1] as string, Number(argv[2]));
  process.exit(0);
}
if (argv.includes('--callgrind')) {
  const setup = new Pool({ connectionString: SERVER, max: 1 });
  await setup.query(`create table if not exists ${WTABLE} (id int primary key, n int)`);
  await setup.query(`insert into ${WTABLE} select g, 0 from generate_series(0, 7) g on conflict do nothing`);
  await setup.end();
  const plainIr = callgrindPerWrite('plain', 200, 1200);
  const routedIr = callgrindPerWrite('routed', 200, 1200);
  console.log(
    `callgrind, instructions of the client process per write (1 caller, 1200 − 200 writes): primary-only ${plainIr.toFixed(0)}, routing on ${routedIr.toFixed(0)} (${(((routedIr - plainIr) / plainIr) * 100).toFixed(2)} %)\n`,
  );
  process.exit(0);
}

const why = PgCluster.unsupported();
if (why !== undefined) {
  console.log(`bench/pg-replicas skipped: ${why}\n`);
  process.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('the replica never became eligible');
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

async function round(
  pool: Queryable,
  run: (pool: Queryable, caller: number, i: number) => Promise<unknown>,
): Promise<{ wall: number; cpu: number }> {
  let done = 0;
  const start = performance.now();
  const end = start + ROUND_MS;
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      let i = 0;
      while (performance.now() < end) {
        await run(pool, caller, i++);
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: done / ((performance.now() - start) / 1000), cpu: done / ((cpu.user + cpu.system) / 1e6) };
}

async function compare(
  name: string,
  a: Queryable,
  b: Queryable,
  run: (pool: Queryable, caller: number, i: number) => Promise<unknown>,
): Promise<string> {
  await round(a, run);
  await round(b, run);
  const wall: number[] = [];
  const cpu: number[] = [];
  const aw: number[] = [];
  const bw: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const first = r % 2 === 0;
    const x = first ? await round(a, run) : undefined;
    const y = await round(b, run);
    const z = first ? x : await round(a, run);
    if (z === undefined) continue;
    aw.push(z.wall);
    bw.push(y.wall);
    wall.push(z.wall / y.wall);
    cpu.push(z.cpu / y.cpu);
  }
  return `| ${name} | ${Math.round(median(aw)).toLocaleString('en')} | ${Math.round(median(bw)).toLocaleString('en')} | ${median(wall).toFixed(3)} | ${median(cpu).toFixed(3)} |`;
}

const primary = await PgCluster.start();
const standby = await PgCluster.start({ standbyOf: primary });
const plain = new Pool({ connectionString: primary.url, max: CALLERS });
// The same primary-only pool twice: its ratio to `plain` is the noise of this run (an A/A control).
const control = new Pool({ connectionString: primary.url, max: CALLERS });
const routed = new Pool({ connectionString: primary.url, replicas: [standby.url], max: CALLERS });
try {
  await plain.query('create table w (id int primary key, n int)');
  await plain.query('insert into w select g, 0 from generate_series(0, 63) g');
  await until(() => routed.stats().replicas?.hosts.some((h) => h.eligible) === true);

  // 2 and 3 first: readYourWrites (below) turns on AsyncLocalStorage's promise hooks for the whole process.
  const write = (pool: Queryable, caller: number, i: number) =>
    pool.query('update w set n = n + 1 where id = $1', [(caller * 8 + i) % 64]);
  const read = (pool: Queryable, caller: number) => pool.query('select n from w where id = $1', [caller]);
  const writes = await compare('writes (update by key)', routed, plain, write);
  const noise = await compare('A/A control: writes, primary-only vs primary-only', control, plain, write);
  const reads = await compare(
    'reads (select by key): routed to the replica vs on the primary',
    routed,
    plain,
    read,
  );

  // 1. The routing decision, as Pool.routed and ReadRouter.read make it, without the statement.
  const router = (routed as unknown as { router: ReadRouter }).router;
  let text = 'select n from w where id = $1';
  const decide = (): unknown => {
    const context = currentContext();
    const t = textOf(text);
    if (context?.primary === true || t === undefined || !looksLikeRead(t)) return undefined;
    return router.pick(context);
  };
  const N = 1_000_000;
  for (let i = 0; i < 100_000; i++) decide();
  const decisions: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) decide();
    decisions.push(((performance.now() - t0) * 1e6) / N);
  }
  text = 'update w set n = n + 1 where id = $1';
  const forWrites: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) decide();
    forWrites.push(((performance.now() - t0) * 1e6) / N);
  }
  text = 'select n from w where id = $1';
  const inContext: number[] = [];
  await readYourWrites(async () => {
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) decide();
      inContext.push(((performance.now() - t0) * 1e6) / N);
    }
  });
  const rtts: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await plain.query('select 1');
    rtts.push((performance.now() - t0) * 1e6);
  }
  const decisionNs = median(decisions);
  const rttNs = median(rtts);

  console.log(
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  console.log('| routing decision | ns per call | select 1 round trip (ns, median of 2000) | share |');
  console.log('|---|---:|---:|---:|');
  console.log(
    `| outside a context | ${decisionNs.toFixed(1)} | ${Math.round(rttNs).toLocaleString('en')} | ${((100 * decisionNs) / rttNs).toFixed(3)} % |`,
  );
  console.log(
    `| a write (classified, sent to the primary) | ${median(forWrites).toFixed(1)} | ${Math.round(rttNs).toLocaleString('en')} | ${((100 * median(forWrites)) / rttNs).toFixed(3)} % |`,
  );
  console.log(
    `| inside readYourWrites | ${median(inContext).toFixed(1)} | ${Math.round(rttNs).toLocaleString('en')} | ${((100 * median(inContext)) / rttNs).toFixed(3)} % |`,
  );
  console.log(
    '\n| case | with replicas ops/s | primary-only ops/s | ratio (median of pairs) | client CPU ratio |',
  );
  console.log('|---|---:|---:|---:|---:|');
  console.log(writes);
  console.log(noise);
  console.log(reads);
  const stats = routed.stats().replicas;
  console.log(
    `\nreads routed to the replica: ${stats?.hosts.map((h) => `${h.host} ${h.role} ${h.readsRouted}`).join(', ')}; to the primary: ${stats?.readsToPrimary}\n`,
  );
} finally {
  await Promise.all([plain.end(), control.end(), routed.end()]);
  standby.destroy();
  primary.destroy();
}
