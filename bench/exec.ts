// Overhead of execute() around a trivial async operation, against calling the operation directly and
// against cockatiel's retry + cooperative timeout policy, in the same process and run, with the cheapest
// wrapper that could end an operation by a deadline ("floor") as the bound any such wrapper pays. Prints Markdown.
// Standalone: node --import tsx bench/exec.ts   (bounded: ~20 s; every round is capped in time and ops)
import { handleAll, retry, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import { CircuitBreaker, execute, executor, RetryBudget } from '../src/index.js';

const ROUNDS = 7;
const ROUND_MS = 250;
const ROUND_OPS = 300_000;

const trivial = async (): Promise<number> => 1;
// An operation that, like any real I/O, gives the event loop one turn before it answers.
const oneTurn = (): Promise<number> => new Promise((resolve) => setImmediate(resolve, 1));

const cockatiel = wrap(retry(handleAll, { maxAttempts: 3 }), timeout(1000, TimeoutStrategy.Cooperative));
const guarded = {
  idempotent: true,
  budget: new RetryBudget(),
  breaker: new CircuitBreaker(),
  deadlineMs: 1000,
};
// The recommended form: options compiled once, hoisted out of the call site.
const hoisted = executor({ deadlineMs: 1000 });

// The least any wrapper must do to be able to end an operation by its deadline whatever the operation
// does: its own promise, settled from a reaction on the operation's promise. No deadline is kept here.
function floor(op: () => Promise<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    op().then(resolve, reject);
  });
}

type Case = [name: string, run: () => Promise<unknown>];

function casesFor(op: () => Promise<number>): Case[] {
  return [
    ['direct `await op()`', op],
    ['floor: bare `new Promise` + `then` around op (reference)', () => floor(op)],
    ['`execute(op)`', () => execute(op)],
    ['`execute(op, { idempotent, budget, breaker, deadlineMs })`', () => execute(op, guarded)],
    ['`run(op)`, `run = executor({ deadlineMs: 1000 })` hoisted', () => hoisted(op)],
    // How the docs write it: a new options literal on every call.
    ['`execute(op, { deadlineMs: 1000 })`, a new literal each call', () => execute(op, { deadlineMs: 1000 })],
    [
      'cockatiel `wrap(retry(handleAll, {maxAttempts: 3}), timeout(1000, Cooperative)).execute(op)`',
      () => cockatiel.execute(op),
    ],
  ];
}

async function round(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  const stop = start + BigInt(ROUND_MS * 1e6);
  let n = 0;
  // Check the clock every 256 ops so reading it does not weigh on the cheap cases.
  while (n < ROUND_OPS) {
    for (let i = 0; i < 256; i++) await run();
    n += 256;
    if (process.hrtime.bigint() > stop) break;
  }
  return Number(process.hrtime.bigint() - start) / n;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function measure(title: string, cases: Case[]): Promise<void> {
  for (const [, run] of cases) await round(run); // warm-up: the JIT sees every case first
  const samples = cases.map(() => [] as number[]);
  // Interleaved rounds, so drift in machine load hits every case alike.
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [, run]] of cases.entries()) {
      (globalThis as { gc?: () => void }).gc?.();
      samples[i]?.push(await round(run));
    }
  }
  const ns = samples.map(median);
  const direct = ns[0] ?? Number.NaN;
  const bare = ns[1] ?? Number.NaN;
  const plain = ns[2] ?? Number.NaN;
  const theirs = ns[cases.length - 1] ?? Number.NaN;
  console.log(`### ${title}\n`);
  console.log('| case | ns/op | × direct | × floor | × cockatiel |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [i, [name]] of cases.entries()) {
    const v = ns[i] ?? Number.NaN;
    console.log(
      `| ${name} | ${v.toFixed(0)} | ${(v / direct).toFixed(2)} | ${(v / bare).toFixed(2)} | ${(v / theirs).toFixed(3)} |`,
    );
  }
  // The goal (≤ 1.5× a direct call, faster than cockatiel), and the bound on it: no wrapper able to end the op by a deadline costs less than floor.
  const target = 1.5 * direct;
  console.log(
    `\nTarget ≤ 1.5 × direct (${target.toFixed(0)} ns) and faster than cockatiel: \`execute(op)\` ${plain.toFixed(0)} ns, ` +
      `${plain <= target ? 'met' : 'missed'} (${(plain / direct).toFixed(2)} × direct); ` +
      `${plain < theirs ? 'faster' : 'not faster'} than cockatiel (${(theirs / plain).toFixed(0)} ×).`,
  );
  console.log(
    `Floor: ${(bare / direct).toFixed(2)} × direct. A wrapper that can end an operation by its deadline needs a ` +
      "promise of its own, settled from a reaction on the operation's, so none costs less than the floor" +
      `${bare > target ? ', which alone is above the 1.5× target here' : ''}. ` +
      `execute(op) costs ${(plain / bare).toFixed(2)} × the floor (+${(plain - bare).toFixed(0)} ns).`,
  );
  console.log('');
}

console.log(
  `Sequential awaited calls; median of ${ROUNDS} interleaved rounds (each ≤ ${ROUND_MS} ms or ${ROUND_OPS} ops). ` +
    `Node ${process.version}.\n`,
);
await measure('op = `async () => 1` (resolves in a microtask)', casesFor(trivial));
await measure('op = one event-loop turn (`setImmediate`), like any I/O', casesFor(oneTurn));
