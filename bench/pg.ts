// Throughput through lifeline-net/pg against pg.Pool, in one run, each pool in a child process of its own (as
// an application holds one pool; in one process pg's code, which both run, is compiled for whichever ran
// first: docs/mysql.md, Overhead, measured it for mysql2), against the real server:
// 16 concurrent callers each running pool.query in a loop, both pools of 8 connections, three cases, none
// annotated (as an ORM sends them): `select 1`; a parameterised read (`select … where id = $1`); and reads
// and writes mixed half and half (each caller updates its own row), where lifeline switches sessions between
// read-only and read-write with the statement (safe reads, docs/pg.md). Rounds
// alternate A/B, B/A, … so drift (CPU frequency, server caches, other work on the machine) hits both alike;
// the ratio is the median of the per-pair ratios, each pair run back to back, which cancels slow drift
// better than a ratio of medians. Standalone: `node --expose-gc --import tsx bench/pg.ts` (≈ 2 min). Server: PGHOST/PGPORT/PGUSER/
// PGDATABASE, default 127.0.0.1:5432 postgres/test. BENCH_PG_ROUNDS (default 16) and BENCH_PG_CASES (a
// substring of case names, e.g. `mixed`) shorten a run; BENCH_PG_LIFELINE (JSON, e.g. `{"safeReads":false}`) sets
// the lifeline pool's `lifeline` options, to see what one mechanism costs. Besides throughput it prints, for lifeline, the session
// switches per statement of each case (a count no load on the machine disturbs), and on Linux, for both pools,
// the client's system calls and event-loop sleeps per statement (/proc: reads, writes, and the main thread's
// voluntary context switches): each reply segment the server flushes separately costs the client a read
// and often a wake-up, which is where a statement's client CPU goes on loopback (docs/pg.md, Overhead).
// `--callgrind` counts instead the instructions per statement of each pool and case under valgrind (user space:
// V8, the JIT's code, libuv; not the kernel's share of the socket calls), which a loaded machine does not
// disturb: each pool runs a short and a long series of the case in its own child (16 callers, after a warm-up
// series), and the difference over the extra statements is the per-statement count; --predictable keeps
// V8's compiler and GC on the main thread. Slow: about 2–5 minutes per pool and case.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from '../src/adapters/pg/index.js';
import { callgrindPerOp } from './lib/callgrind.js';
import { type RoundChild, serveRounds, startRoundChild } from './lib/round-child.js';

const CALLERS = 16;
const POOL_SIZE = 8;
const ROUND_MS = 1000;
const WARMUP_ROUNDS = 1;
const ROUNDS = Number(process.env.BENCH_PG_ROUNDS ?? 16);
// A child under callgrind uses its parent's table.
const TABLE = process.env.LIFELINE_BENCH_PG_TABLE ?? `lifeline_bench_pg_${process.pid}`;

const config = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
  max: POOL_SIZE,
};

interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

interface Case {
  name: string;
  /** The statement caller `caller` runs as its `i`th. */
  run(pool: Queryable, caller: number, i: number): Promise<unknown>;
}

const CASES: Case[] = [
  { name: 'select 1', run: (pool) => pool.query('select 1') },
  {
    name: 'unannotated read (select … where id = $1)',
    run: (pool, caller) => pool.query(`select n from ${TABLE} where id = $1`, [caller]),
  },
  {
    name: 'mixed: reads and writes half and half',
    run: (pool, caller, i) =>
      i % 2 === 0
        ? pool.query(`select n from ${TABLE} where id = $1`, [caller])
        : pool.query(`update ${TABLE} set n = n + 1 where id = $1`, [caller]),
  },
];

/** Read and write system calls of this process, and its main thread's voluntary context switches (Linux). */
function syscalls(): [number, number, number] | undefined {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const status = readFileSync('/proc/self/status', 'utf8');
    const field = (text: string, name: string) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(text)?.[1]);
    const counts: [number, number, number] = [
      field(io, 'syscr'),
      field(io, 'syscw'),
      field(status, 'voluntary_ctxt_switches'),
    ];
    return counts.every(Number.isFinite) ? counts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs CALLERS loops of the case's statements for ROUND_MS; returns completed queries per second and per
 * CPU-second of this process (the client's own cost, which the load of a shared machine disturbs less).
 */
async function round(
  pool: Queryable,
  bench: Case,
): Promise<{ wall: number; cpu: number; ops: number; calls: number[] | undefined }> {
  let done = 0;
  const end = performance.now() + ROUND_MS;
  const start = performance.now();
  const callsBefore = syscalls();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      let i = 0;
      while (performance.now() < end) {
        await bench.run(pool, caller, i++);
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const callsAfter = syscalls();
  return {
    calls:
      callsBefore === undefined || callsAfter === undefined
        ? undefined
        : callsAfter.map((n, i) => n - (callsBefore[i] as number)),
    ops: done,
    wall: done / ((performance.now() - start) / 1000),
    cpu: done / ((cpu.user + cpu.system) / 1e6),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A pool for a child process: pg.Pool, or lifeline's with BENCH_PG_LIFELINE's options. */
function makePool(which: string): Queryable & { end(): Promise<void> } {
  return which === 'pg'
    ? new pg.Pool(config)
    : new Pool({ ...config, lifeline: JSON.parse(process.env.BENCH_PG_LIFELINE ?? '{}') });
}

interface RoundResult {
  wall: number;
  cpu: number;
  ops: number;
  calls: number[] | undefined;
  /** lifeline's session switches during the round (0 for pg.Pool). */
  switches: number;
}

/**
 * `--round-child <pg|lifeline>`: a process holding one pool and nothing else, as an application would; it
 * runs a round of a case when the parent asks and answers with the round's figures. Only this pool's code
 * runs in it, so V8 compiles pg's code (which both pools run) for this pool's objects alone.
 */
async function roundChild(which: string): Promise<void> {
  const pool = makePool(which);
  const switches = () => (pool instanceof Pool ? pool.protectionStats().sessionSwitches : 0);
  const gc = (globalThis as { gc?: () => void }).gc;
  serveRounds(
    `bench/pg.ts (${which})`,
    async (caseIndex: number): Promise<RoundResult> => {
      gc?.();
      const before = switches();
      const measured = await round(pool, CASES[caseIndex] as Case);
      return { ...measured, switches: switches() - before };
    },
    () => pool.end(),
  );
}

/** Starts the round child for `which`; its `ask(i)` runs case i in it. */
function startChild(which: string): Promise<RoundChild<number, RoundResult>> {
  return startRoundChild(fileURLToPath(import.meta.url), ['--round-child', which], {
    ...process.env,
    LIFELINE_BENCH_PG_TABLE: TABLE,
  });
}

async function main(): Promise<void> {
  const names = ['pg.Pool', 'lifeline-net/pg Pool'] as const;
  const bail = setTimeout(() => {
    console.error('bench/pg.ts: gave up after 240 s');
    process.exit(1);
  }, 240_000);
  bail.unref();
  const rows: string[] = [];
  const ratios: number[] = [];
  const setup = new pg.Client(config);
  await setup.connect();
  await setup.query(`create table if not exists ${TABLE} (id int primary key, n int not null)`);
  await setup.query(
    `insert into ${TABLE} select g, 0 from generate_series(0, ${CALLERS - 1}) g on conflict do nothing`,
  );
  const children = await Promise.all(['pg', 'lifeline'].map(startChild));
  const switches: string[] = [];
  const perStatement: string[] = [];
  try {
    for (const [caseIndex, bench] of CASES.entries()) {
      if (!bench.name.includes(process.env.BENCH_PG_CASES ?? '')) continue;
      let lifelineOps = 0;
      let lifelineSwitches = 0;
      const results: [number[], number[]] = [[], []];
      const cpuResults: [number[], number[]] = [[], []];
      // Sums over the measured rounds: statements, reads, writes, sleeps.
      const calls: [number[], number[]] = [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ];
      for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
        // A/B then B/A: neither pool always runs first in a pair.
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const k of order) {
          const measured = await (children[k] as RoundChild<number, RoundResult>).ask(caseIndex);
          if (k === 1) {
            lifelineOps += measured.ops;
            lifelineSwitches += measured.switches;
          }
          if (r >= WARMUP_ROUNDS) {
            results[k as 0 | 1].push(measured.wall);
            cpuResults[k as 0 | 1].push(measured.cpu);
            const sums = calls[k as 0 | 1];
            if (measured.calls !== undefined) {
              sums[0] = (sums[0] as number) + measured.ops;
              for (let i = 0; i < 3; i++)
                sums[i + 1] = (sums[i + 1] as number) + (measured.calls[i] as number);
            }
          }
        }
      }
      switches.push(
        `${bench.name}: ${(lifelineSwitches / lifelineOps).toFixed(3)} session switches per statement`,
      );
      for (const k of [0, 1] as const) {
        const [n, reads, writes, sleeps] = calls[k] as [number, number, number, number];
        if (n > 0)
          perStatement.push(
            `${bench.name}, ${names[k]}: ${(reads / n).toFixed(2)} reads, ${(writes / n).toFixed(2)} writes, ${(sleeps / n).toFixed(3)} event-loop sleeps`,
          );
      }
      const ratio = median(results[1].map((v, i) => v / (results[0][i] as number)));
      const cpuRatio = median(cpuResults[1].map((v, i) => v / (cpuResults[0][i] as number)));
      ratios.push(ratio);
      for (const k of [0, 1] as const) {
        const xs = results[k];
        rows.push(
          `| ${bench.name} | ${names[k]} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${(k === 0 ? 1 : ratio).toFixed(3)} | ${fmt(median(cpuResults[k]))} | ${(k === 0 ? 1 : cpuRatio).toFixed(3)} |`,
        );
      }
    }
  } finally {
    await Promise.all(children.map((c) => c.end()));
    await setup.query(`drop table if exists ${TABLE}`);
    await setup.end();
  }
  console.log(
    `${CALLERS} concurrent callers, pool of ${POOL_SIZE}, ${config.host}:${config.port}; ` +
      `${ROUNDS} alternating ${ROUND_MS / 1000} s rounds per pool and case — Node ${process.version}, ${os.cpus()[0]?.model ?? 'CPU'}\n`,
  );
  console.log(
    '| case | pool | ops/s (median) | min | max | ratio vs pg.Pool (median of pairs) | ops per client CPU-s | ratio |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(`\nlifeline-net/pg, ${switches.join('; ')}`);
  if (perStatement.length > 0)
    console.log(`\nSystem calls and sleeps of the client per statement:\n${perStatement.join('\n')}`);
  const worst = Math.min(...ratios);
  console.log(
    `\nTarget ratio ≥ 0.97 in every case: ${worst >= 0.97 ? 'met' : 'NOT met'} (lowest ${worst.toFixed(3)})`,
  );
}

// Statements per series under callgrind: warm-up, then short or long; the difference leaves out startup.
const CALLGRIND_WARMUP = 1600;
const CALLGRIND_SHORT = 1600;
const CALLGRIND_LONG = 6400;

/** One series in a child process: `--child <pg|lifeline> <case index> <statements>`. */
async function child(which: string, caseIndex: number, statements: number): Promise<void> {
  const pool = makePool(which);
  const bench = CASES[caseIndex] as Case;
  const series = (n: number) =>
    Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let i = 0; i < n / CALLERS; i++) await bench.run(pool, caller, i);
      }),
    );
  await series(CALLGRIND_WARMUP);
  await series(statements);
  await pool.end();
}

/** Instructions per statement: (Ir(long) − Ir(short)) / (long − short). */
function callgrindPerStatement(which: string, caseIndex: number): number {
  return callgrindPerOp({
    script: fileURLToPath(import.meta.url),
    args: [which, String(caseIndex)],
    short: CALLGRIND_SHORT,
    long: CALLGRIND_LONG,
    timeoutMs: 1_200_000,
    env: { ...process.env, LIFELINE_BENCH_PG_TABLE: TABLE },
  });
}

async function callgrind(): Promise<void> {
  const setup = new pg.Pool(config);
  await setup.query(`create table if not exists ${TABLE} (id int primary key, n int not null)`);
  await setup.query(
    `insert into ${TABLE} select g, 0 from generate_series(0, ${CALLERS - 1}) g on conflict do nothing`,
  );
  console.log(
    `callgrind, instructions per statement (${CALLERS} callers, pools of ${POOL_SIZE}, ${CALLGRIND_LONG} − ${CALLGRIND_SHORT} statements)\n`,
  );
  console.log('| case | pg.Pool | lifeline-net/pg Pool | lifeline / pg.Pool |\n|---|---:|---:|---:|');
  try {
    for (const [i, bench] of CASES.entries()) {
      if (!bench.name.includes(process.env.BENCH_PG_CASES ?? '')) continue;
      const base = callgrindPerStatement('pg', i);
      const ours = callgrindPerStatement('lifeline', i);
      console.log(`| ${bench.name} | ${fmt(base)} | ${fmt(ours)} | ${(ours / base).toFixed(3)} |`);
    }
  } finally {
    await setup.query(`drop table if exists ${TABLE}`);
    await setup.end();
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--round-child') await roundChild(argv[1] as string);
else if (argv[0] === '--child') await child(argv[1] as string, Number(argv[2]), Number(argv[3]));
else if (argv.includes('--callgrind')) await callgrind();
else await main();
