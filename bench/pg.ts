// `select 1` throughput through lifeline-net/pg against pg.Pool, in one process and one run, against the real
// server: 16 concurrent callers each running pool.query in a loop, both pools of 8 connections. Rounds
// alternate A/B, B/A, … so drift (CPU frequency, server caches, other work on the machine) hits both alike;
// the ratio is the median of the per-pair ratios, each pair run back to back, which cancels slow drift
// better than a ratio of medians. Standalone: `node --import tsx bench/pg.ts` (≈ 45 s). Server: PGHOST/PGPORT/PGUSER/
// PGDATABASE, default 127.0.0.1:5432 postgres/test.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Pool } from '../src/adapters/pg/index.js';

const CALLERS = 16;
const POOL_SIZE = 8;
const ROUND_MS = 1000;
const WARMUP_ROUNDS = 1;
const ROUNDS = 20;

const config = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
  max: POOL_SIZE,
};

interface Queryable {
  query(text: string): Promise<unknown>;
}

/** Runs CALLERS loops of `select 1` for ROUND_MS; returns completed queries per second. */
async function round(pool: Queryable): Promise<number> {
  let done = 0;
  const end = performance.now() + ROUND_MS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) {
        await pool.query('select 1');
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

async function main(): Promise<void> {
  const pools: { name: string; pool: Queryable & { end(): Promise<void> }; results: number[] }[] = [
    { name: 'pg.Pool', pool: new pg.Pool(config), results: [] },
    { name: 'lifeline-net/pg Pool', pool: new Pool(config), results: [] },
  ];
  const bail = setTimeout(() => {
    console.error('bench/pg.ts: gave up after 60 s');
    process.exit(1);
  }, 60_000);
  bail.unref();
  try {
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      // A/B then B/A: neither pool always runs first in a pair.
      const order = r % 2 === 0 ? pools : [...pools].reverse();
      for (const p of order) {
        const opsPerSec = await round(p.pool);
        if (r >= WARMUP_ROUNDS) p.results.push(opsPerSec);
      }
    }
  } finally {
    for (const p of pools) await p.pool.end();
  }
  const [reference, ours] = pools as [(typeof pools)[0], (typeof pools)[0]];
  const ratio = median(ours.results.map((r, i) => r / (reference.results[i] as number)));
  console.log(
    `select 1, ${CALLERS} concurrent callers, pool of ${POOL_SIZE}, ${config.host}:${config.port}; ` +
      `${ROUNDS} alternating ${ROUND_MS / 1000} s rounds per pool — Node ${process.version}, ${os.cpus()[0]?.model ?? 'CPU'}\n`,
  );
  console.log('| pool | ops/s (median) | min | max | ratio vs pg.Pool (median of pairs) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const p of [reference, ours]) {
    const m = median(p.results);
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(
      `| ${p.name} | ${fmt(m)} | ${fmt(Math.min(...p.results))} | ${fmt(Math.max(...p.results))} | ${(p === reference ? 1 : ratio).toFixed(3)} |`,
    );
  }
  console.log(`\nTarget ratio ≥ 0.97: ${ratio >= 0.97 ? 'met' : 'NOT met'} (${ratio.toFixed(3)})`);
}

await main();
