// Throughput through lifeline-net/mysql against mysql2's own pool, in one run, against the real server: 16
// concurrent callers each running pool.query('select 1') in a loop, both pools of 8 connections (promise
// API). lifeline runs the select as a safe read (the session stays read-only between reads: no extra
// statement per query). Each pool lives in a child process of its own, as in an application that holds one
// pool: in one process, whichever pool ran first had the mysql2 code both share compiled for its objects,
// and the other paid about 10 % more CPU per query for it (docs/mysql.md, Overhead). The parent only
// schedules: rounds alternate A/B, B/A, … (one child runs while the other waits) so drift hits both alike;
// the ratio is the median of the per-pair ratios. Beside throughput, each round's CPU time per query (user +
// system of that child, process.cpuUsage) is reported: on a loaded machine it moves far less than
// throughput does. Both pools are warmed up (JIT) before the measured rounds. No full GC is forced between
// rounds unless `--gc` is given (with --expose-gc): a forced full GC before every round deoptimizes code
// whose embedded objects died ("weak objects"), and that code then re-tiers inside each measured round — a
// cost no application that does not call gc() pays.
// Standalone: `node --import tsx bench/mysql.ts [--gc] [--control]` (≈ 45 s; `--gc` needs `node --expose-gc`).
// `--control` adds a second mysql2 pool in a third child, measured like the others (≈ 65 s): its ratio to the
// first is the A/A control, how far one run's ratio moves when both sides run the same code. Every ratio row
// also gives the spread of its per-pair ratios (p25–p75).
// Server: MYSQL_HOST/MYSQL_PORT/MYSQL_USER/MYSQL_DATABASE, default 127.0.0.1:3306 root/test.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { createPool } from '../src/adapters/mysql/promise.js';
import { type RoundChild, serveRounds, startRoundChild } from './lib/round-child.js';

const CALLERS = 16;
const POOL_SIZE = 8;
const ROUND_MS = 1000;
const WARMUP_ROUNDS = 3;
const ROUNDS = 16;

const config = {
  host: process.env.MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? 'root',
  database: process.env.MYSQL_DATABASE ?? 'test',
  connectionLimit: POOL_SIZE,
};

interface Queryable {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

interface Round {
  opsPerSec: number;
  /** CPU time of the process running the round, per query, µs. */
  cpuUs: number;
}

/** Runs CALLERS loops of `select 1` for ROUND_MS; returns completed queries per second and CPU per query. */
async function round(pool: Queryable): Promise<Round> {
  let done = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ROUND_MS;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        await pool.query('select 1');
        done++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { opsPerSec: done / ((performance.now() - start) / 1000), cpuUs: (used.user + used.system) / done };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The q-quantile of xs (linear between neighbours). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

/** The pools a run compares, by the name a child process is given. */
const KINDS = {
  mysql2: { name: 'mysql2 pool', create: () => mysql.createPool(config) as unknown as Queryable },
  lifeline: { name: 'lifeline-net/mysql pool', create: () => createPool(config) as unknown as Queryable },
} as const;
type Kind = keyof typeof KINDS;

/**
 * A child process holding one pool and nothing else, as an application would: it runs a round when the
 * parent asks and answers with the round's figures. Only this pool's code runs in it, so V8 compiles the
 * shared mysql2 code for this pool's objects alone.
 */
async function child(kind: Kind): Promise<void> {
  const pool = KINDS[kind].create();
  const gc = process.argv.includes('--gc') ? (globalThis as { gc?: () => void }).gc : undefined;
  serveRounds(
    `bench/mysql.ts (${kind})`,
    () => {
      gc?.();
      return round(pool);
    },
    () => pool.end(),
  );
}

/** Starts the child for `kind`. */
function start(kind: Kind): Promise<RoundChild<null, Round>> {
  return startRoundChild(fileURLToPath(import.meta.url), ['--child', kind, ...process.argv.slice(2)]);
}

async function main(): Promise<void> {
  const kinds: Kind[] = ['mysql2', 'lifeline'];
  // The A/A control: a second mysql2 pool, measured as the others are. Its ratio to the first is what one
  // run's ratio moves by when both sides run the same code.
  if (process.argv.includes('--control')) kinds.push('mysql2');
  const pools = kinds.map((kind, k) => ({ name: KINDS[kind].name + (k >= 2 ? ' (control)' : '') }));
  const bail = setTimeout(() => {
    console.error('bench/mysql.ts: gave up after 180 s');
    process.exit(1);
  }, 180_000);
  bail.unref();
  const children = await Promise.all(kinds.map(start));
  const results: number[][] = pools.map(() => []);
  const cpuResults: number[][] = pools.map(() => []);
  const forward = pools.map((_, k) => k);
  const backward = [...forward].reverse();
  try {
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      const order = r % 2 === 0 ? forward : backward;
      for (const k of order) {
        const measured = await (children[k] as RoundChild<null, Round>).ask(null);
        if (r >= WARMUP_ROUNDS) {
          results[k]?.push(measured.opsPerSec);
          cpuResults[k]?.push(measured.cpuUs);
        }
      }
    }
  } finally {
    await Promise.all(children.map((c) => c.end()));
  }
  /** Per-round ratios of pool k to mysql2's pool (pool 0), in the round pairs. */
  const pairs = (xs: number[][], k: number) =>
    (xs[k] as number[]).map((v, i) => v / ((xs[0] as number[])[i] as number));
  const spread = (ratios: number[]) =>
    `${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}`;
  console.log(
    `${CALLERS} concurrent callers, pool of ${POOL_SIZE}, ${config.host}:${config.port}; ` +
      `${ROUNDS} alternating ${ROUND_MS / 1000} s rounds per pool — Node ${process.version}, ${os.cpus()[0]?.model ?? 'CPU'}\n`,
  );
  console.log(
    '| case | pool | ops/s (median) | min | max | ratio vs mysql2 (median of pairs) | pair ratios p25–p75 | CPU µs/query (median) | CPU vs mysql2 | CPU pair ratios p25–p75 |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let k = 0; k < pools.length; k++) {
    const xs = results[k] as number[];
    const ratios = pairs(results, k);
    const cpuRatios = pairs(cpuResults, k);
    console.log(
      `| select 1 | ${pools[k]?.name} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${median(ratios).toFixed(3)} | ${k === 0 ? '' : spread(ratios)} | ${median(cpuResults[k] as number[]).toFixed(1)} | ${median(cpuRatios).toFixed(2)} | ${k === 0 ? '' : spread(cpuRatios)} |`,
    );
  }
  console.log(
    `\nLoad average while measuring: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} on ${os.cpus().length} CPUs`,
  );
  const ratio = median(pairs(results, 1));
  console.log(`\nTarget ratio ≥ 0.97: ${ratio >= 0.97 ? 'met' : 'NOT met'} (${ratio.toFixed(3)})`);
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1] as Kind);
else await main();
