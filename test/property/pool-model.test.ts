// Property: the core Pool as a state machine. Random sequences of acquire (with and without a short timeout
// or an abort signal), release, release-and-destroy, abort, resource death, waiting and drain, on an in-memory
// factory. After every step: total ≤ max, nothing lent twice, no known-dead resource handed out, waiters
// served in the order they came, busy = what the test holds; at the end every acquire settles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import fc from 'fast-check';
import { LifelineError } from '../../src/core/errors.js';
import { type Factory, Pool } from '../../src/pool/index.js';
import { params } from './support.js';

interface Item {
  readonly id: number;
  dead: boolean;
  destroyed: boolean;
  onDeath?: () => void;
}

interface Pending {
  readonly seq: number;
  readonly controller: AbortController;
  settled: boolean;
}

class Real {
  readonly items: Item[] = [];
  readonly held = new Set<Item>();
  readonly pending: Pending[] = [];
  readonly resolvedOrder: number[] = [];
  readonly promises: Promise<void>[] = [];
  readonly failures: string[] = [];
  drained = false;
  private seq = 0;
  readonly pool: Pool<Item>;

  constructor(readonly max: number) {
    const factory: Factory<Item> = {
      create: async () => {
        await turn();
        const item: Item = { id: this.items.length, dead: false, destroyed: false };
        this.items.push(item);
        return item;
      },
      destroy: (item) => {
        item.destroyed = true;
      },
      alive: (item) => !item.dead,
      onDeath: (item, callback) => {
        item.onDeath = callback;
      },
    };
    // No pre-handout check turn: the order of handouts is then the pool's queue order alone.
    this.pool = new Pool({ factory, max, validateAfterIdleMs: 600_000, createRetry: { baseDelayMs: 1 } });
  }

  acquire(timeoutMs: number | undefined, withSignal: boolean): void {
    const controller = new AbortController();
    const entry: Pending = { seq: this.seq++, controller, settled: false };
    this.pending.push(entry);
    const options = {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(withSignal ? { signal: controller.signal } : {}),
    };
    this.promises.push(
      this.pool.acquire(options).then(
        (item) => {
          entry.settled = true;
          if (this.held.has(item)) this.failures.push(`item ${item.id} lent twice`);
          if (item.dead) this.failures.push(`dead item ${item.id} handed out`);
          if (item.destroyed) this.failures.push(`destroyed item ${item.id} handed out`);
          this.held.add(item);
          this.resolvedOrder.push(entry.seq);
        },
        (error: unknown) => {
          entry.settled = true;
          if (!(error instanceof LifelineError)) this.failures.push(`acquire rejected with ${String(error)}`);
        },
      ),
    );
  }

  async check(): Promise<void> {
    for (let i = 0; i < 3; i++) await turn();
    const stats = this.pool.stats();
    assert.deepEqual(this.failures, []);
    assert.ok(stats.total <= this.max, `total ${stats.total} > max ${this.max}`);
    assert.equal(stats.busy, this.held.size, 'busy = resources the test holds');
    const sorted = [...this.resolvedOrder].sort((a, b) => a - b);
    assert.deepEqual(this.resolvedOrder, sorted, 'waiters served in the order they came');
  }
}

type Model = { drained: boolean };
type Cmd = fc.AsyncCommand<Model, Real, false>;

const cmd = (
  name: string,
  run: (r: Real) => void | Promise<void>,
  ok: (m: Model) => boolean = (m) => !m.drained,
): Cmd => ({
  check: ok,
  async run(_m, r) {
    await run(r);
    await r.check();
  },
  toString: () => name,
});

const pick = <T>(values: Iterable<T>, index: number): T | undefined => {
  const list = [...values];
  return list.length === 0 ? undefined : list[index % list.length];
};

const [acquireCmd, releaseCmd, abortCmd, dieCmd, waitCmd, drainCmd] = [
  fc
    .record({
      timeoutMs: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      signal: fc.boolean(),
    })
    .map(({ timeoutMs, signal }) =>
      cmd(`acquire(${timeoutMs},${signal})`, (r) => r.acquire(timeoutMs, signal)),
    ),
  fc.record({ index: fc.nat(), destroy: fc.boolean() }).map(({ index, destroy }) =>
    cmd(`release(${index},${destroy})`, (r) => {
      const item = pick(r.held, index);
      if (!item) return;
      r.held.delete(item);
      r.pool.release(item, destroy ? { destroy: true } : undefined);
    }),
  ),
  fc.nat().map((index) =>
    cmd(`abort(${index})`, (r) =>
      pick(
        r.pending.filter((p) => !p.settled),
        index,
      )?.controller.abort(),
    ),
  ),
  fc.nat().map((index) =>
    cmd(`die(${index})`, (r) => {
      const item = pick(
        r.items.filter((i) => !i.dead && !i.destroyed),
        index,
      );
      if (!item) return;
      item.dead = true;
      item.onDeath?.();
    }),
  ),
  fc
    .integer({ min: 1, max: 25 })
    .map((ms) => cmd(`wait(${ms})`, () => new Promise((resolve) => setTimeout(resolve, ms)))),
  fc.constant(null).map(() => ({
    check: (m: Model) => !m.drained,
    async run(m: Model, r: Real) {
      m.drained = true;
      r.drained = true;
      const drained = r.pool.drain({ timeoutMs: 50 });
      for (const item of [...r.held]) {
        r.held.delete(item);
        r.pool.release(item);
      }
      await drained;
      await r.check();
    },
    toString: () => 'drain',
  })),
];
// Weighted by repetition: mostly acquires and releases, a drain now and then.
const commands = [
  acquireCmd,
  acquireCmd,
  acquireCmd,
  releaseCmd,
  releaseCmd,
  abortCmd,
  dieCmd,
  dieCmd,
  waitCmd,
  drainCmd,
];

describe('Pool as a state machine', () => {
  it('keeps its invariants under random acquire/release/destroy/abort/timeout/death/drain', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.commands(commands, { maxCommands: 50, size: '+1' }),
        async (max, cmds) => {
          const real = new Real(max);
          await fc.asyncModelRun(() => ({ model: { drained: false }, real }), cmds);
          // Every acquire settles: hand back what is held, drain, and wait (bounded) for all of them.
          for (const item of [...real.held]) {
            real.held.delete(item);
            real.pool.release(item);
          }
          await real.pool.drain({ timeoutMs: 50 });
          let timer: NodeJS.Timeout | undefined;
          const bound = new Promise<'hung'>((resolve) => {
            timer = setTimeout(() => resolve('hung'), 2000);
          });
          const outcome = await Promise.race([
            Promise.all(real.promises).then(() => 'settled' as const),
            bound,
          ]);
          clearTimeout(timer);
          assert.equal(outcome, 'settled', 'every acquire settles after drain');
          for (const item of real.held) real.pool.release(item);
          assert.deepEqual(real.failures, []);
        },
      ),
      params(120),
    );
  });
});
