// What metrics cost a pool: acquire+release of lifeline's Pool with metrics off, and on (prom-client registry,
// durations aggregated per acquire and release), in one process and one run, rounds interleaved, medians
// compared (the bound: within 3 %). With `--callgrind` it also counts instructions per acquire+release under
// valgrind (noise-free on a loaded machine): each variant runs a short and a long series in its own child, and
// the difference over the extra operations is the per-operation count; --predictable keeps V8's compiler
// and GC on the main thread and deterministic, so the series compile alike. Standalone: `node --import tsx bench/observe.ts [--callgrind]`.
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { instrument } from '../src/observe/index.js';
import { Pool } from '../src/pool/index.js';
import { callgrindPerOp } from './lib/callgrind.js';

const RESOURCES = 10;
const OPS_PER_ROUND = 100_000;
const WARMUP_ROUNDS = 3;
const ROUNDS = 9;
// Two run lengths: their difference leaves out startup, JIT warm-up and the pool's creation.
const CALLGRIND_SHORT = 100_000;
const CALLGRIND_LONG = 300_000;

class Resource {
  usable = true;
}

function makePool(metrics: boolean): Pool<Resource> {
  const pool = new Pool<Resource>({
    factory: { create: async () => new Resource(), destroy: async () => {}, alive: (r) => r.usable },
    min: RESOURCES,
    max: RESOURCES,
  });
  if (metrics) instrument({ registry: new Registry() }).pool(pool, 'bench');
  return pool;
}

async function warm(pool: Pool<Resource>): Promise<void> {
  const held = await Promise.all(Array.from({ length: RESOURCES }, () => pool.acquire()));
  for (const r of held) pool.release(r);
}

/** `ops` acquire+release by `borrowers` concurrent loops; returns ops per second. */
async function round(pool: Pool<Resource>, ops: number, borrowers: number): Promise<number> {
  const each = Math.floor(ops / borrowers);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: borrowers }, async () => {
      for (let i = 0; i < each; i++) pool.release(await pool.acquire());
    }),
  );
  return (each * borrowers) / ((performance.now() - started) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function runObserveBench(): Promise<string[]> {
  const lines: string[] = [];
  for (const borrowers of [1, 64]) {
    const off = makePool(false);
    const on = makePool(true);
    await warm(off);
    await warm(on);
    const results = { off: [] as number[], on: [] as number[] };
    for (let i = 0; i < WARMUP_ROUNDS + ROUNDS; i++) {
      // Alternate which goes first, so a slow moment of the machine does not always hit the same one.
      const order = i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const which of order) {
        const rate = await round(which === 'off' ? off : on, OPS_PER_ROUND, borrowers);
        if (i >= WARMUP_ROUNDS) results[which].push(rate);
      }
    }
    await Promise.all([off.drain(), on.drain()]);
    const a = median(results.off);
    const b = median(results.on);
    lines.push(
      `| ${borrowers} borrower(s), metrics off | ${Math.round(a).toLocaleString('en')} ops/s | |`,
      `| ${borrowers} borrower(s), metrics on (prom-client) | ${Math.round(b).toLocaleString('en')} ops/s | ${(((b - a) / a) * 100).toFixed(1)} % |`,
    );
  }
  return lines;
}

/** Instructions per acquire+release of one variant under callgrind: (Ir(long) − Ir(short)) / (long − short). */
function callgrindPerAcquire(variant: 'off' | 'on'): number {
  return callgrindPerOp({
    script: fileURLToPath(import.meta.url),
    args: [variant],
    short: CALLGRIND_SHORT,
    long: CALLGRIND_LONG,
    timeoutMs: 600_000,
  });
}

async function child(variant: string, ops: number): Promise<void> {
  const pool = makePool(variant === 'on');
  await warm(pool);
  await round(pool, ops, 1);
  await pool.drain();
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1] as string, Number(argv[2]));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('| pool, acquire+release | median of 9 rounds | on vs off |\n|---|---:|---:|');
  for (const line of await runObserveBench()) console.log(line);
  if (argv.includes('--callgrind')) {
    const off = callgrindPerAcquire('off');
    const on = callgrindPerAcquire('on');
    console.log(
      `\ncallgrind, instructions per acquire+release (1 borrower, ${CALLGRIND_LONG} − ${CALLGRIND_SHORT} ops): off ${off.toFixed(0)}, on ${on.toFixed(0)} (${(((on - off) / off) * 100).toFixed(1)} %)`,
    );
  }
}
