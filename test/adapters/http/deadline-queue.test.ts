// The fast path's per-origin deadline queue (src/adapters/http/deadline-queue.ts): only pending requests
// expire, in deadline order, each once; ended ones are dropped, and the queue never holds more than twice
// the pending requests (plus 64).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineQueue, type Queued } from '../../../src/adapters/http/deadline-queue.js';
import { preciseNow } from '../../../src/core/time.js';

class Entry implements Queued {
  pending = true;
  expiredAt: number | undefined;
  constructor(
    readonly deadline: number,
    readonly log: Entry[],
  ) {}
  expire(now: number): void {
    assert.equal(this.expiredAt, undefined, 'expired once');
    this.pending = false;
    this.expiredAt = now;
    this.log.push(this);
  }
}

test('pending requests expire at their deadline, in order; ended ones never do', async () => {
  const queue = new DeadlineQueue();
  const log: Entry[] = [];
  const start = preciseNow();
  const entries = [20, 20, 40, 60, 60].map((ms) => new Entry(start + ms, log));
  for (const entry of entries) queue.add(entry);
  // The second and fourth get their response in time.
  for (const i of [1, 3]) {
    (entries[i] as Entry).pending = false;
    queue.done();
  }
  assert.equal(queue.pending, 3);
  while (log.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(log, [entries[0], entries[2], entries[4]]);
  for (const entry of log) assert.ok((entry.expiredAt as number) >= entry.deadline);
  assert.equal(queue.pending, 0);
  assert.equal(queue.held, 0);
});

test('the queue holds at most twice the pending requests plus 64, however many ended', () => {
  const queue = new DeadlineQueue();
  const log: Entry[] = [];
  const far = preciseNow() + 60_000;
  // One request that never ends at the head, then 10 000 that end right away.
  const stuck = new Entry(far, log);
  queue.add(stuck);
  for (let i = 0; i < 10_000; i++) {
    const entry = new Entry(far, log);
    queue.add(entry);
    entry.pending = false;
    queue.done();
    assert.ok(queue.held <= 2 * queue.pending + 65, `held ${queue.held} with ${queue.pending} pending`);
  }
  assert.equal(queue.pending, 1);
  stuck.pending = false;
  queue.done();
  assert.equal(log.length, 0);
});
