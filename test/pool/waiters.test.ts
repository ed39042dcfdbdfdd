// The waiter queue (waiters.ts) reuses answered waiters. Under a mixed load (plain acquires, acquires with a
// signal, aborts, timeouts, pre-handout checks) every acquire must get its own answer: a resource nobody
// else holds, or its own error, never a reused waiter's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, AcquireTimeoutError, Pool } from '../../src/pool/index.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 20_000 };

test('under mixed load every acquire gets a resource held by no one else, or its own error', T, async () => {
  const factory = tokenFactory();
  // Resources idle for 1 ms go through the pre-handout check, whose ping takes one event-loop turn.
  const ping = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const pool = new Pool<Token>({ factory: { ...factory, ping }, max: 3, validateAfterIdleMs: 1 });
  const held = new Set<Token>();
  const counts = { lent: 0, aborted: 0, timedOut: 0 };
  async function borrower(id: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const kind = (id * 7 + i) % 5;
      const controller = kind === 3 ? new AbortController() : undefined;
      const options =
        kind === 2
          ? { signal: new AbortController().signal }
          : kind === 3
            ? { signal: controller!.signal }
            : kind === 4
              ? { timeoutMs: 1 }
              : undefined;
      const acquiring = pool.acquire(options);
      if (controller !== undefined) queueMicrotask(() => controller.abort(new Error(`abort ${id}/${i}`)));
      let token: Token;
      try {
        token = await acquiring;
      } catch (error) {
        if (error instanceof AbortError) {
          assert.equal(kind, 3);
          assert.equal((error.cause as Error).message, `abort ${id}/${i}`);
          counts.aborted++;
        } else {
          assert.ok(error instanceof AcquireTimeoutError, String(error));
          assert.equal(kind, 4);
          counts.timedOut++;
        }
        continue;
      }
      assert.ok(!held.has(token), 'a resource was lent to two holders at once');
      held.add(token);
      counts.lent++;
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.resolve();
      held.delete(token);
      pool.release(token);
    }
  }
  await Promise.all(Array.from({ length: 24 }, (_, id) => borrower(id)));
  assert.equal(counts.lent + counts.aborted + counts.timedOut, 24 * 200);
  assert.ok(counts.lent > 0);
  const stats = pool.stats();
  assert.equal(stats.acquired, counts.lent);
  assert.equal(stats.acquireAborts, counts.aborted);
  assert.equal(stats.acquireTimeouts, counts.timedOut);
  assert.equal(stats.waiting, 0);
  assert.equal(stats.busy, 0);
  await pool.drain();
});
