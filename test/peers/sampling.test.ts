// Sampled timing: a healthy peer's answers are timed one in TIME_EVERY (plus the first after each check tick,
// every one while it is not up, the first after a failure). A peer that turns slow must still be asked last
// once the samples show it, and one that stops answering in time must still be given up on: the adaptive
// timeout guards every call, timed or not.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TIME_EVERY } from '../../src/peers/attempt.js';
import { PeerSet, PeerSlowError } from '../../src/peers/index.js';

const T = { timeout: 20_000 };
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

test('with sampled timing a peer that turns slow is still demoted, then given up on', T, async () => {
  const names = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
  const delay = new Map(names.map((n) => [n, 0]));
  // Fast peers answer after one loop turn, as I/O would; a slow one after its delay.
  const fn = (peer: string): Promise<string> =>
    new Promise((resolve) => {
      const ms = delay.get(peer)!;
      if (ms === 0) setImmediate(resolve, peer);
      else setTimeout(resolve, ms, peer);
    });
  // No check timer: only the one-in-TIME_EVERY sampling times a healthy peer's answers (the sparsest case).
  const set = new PeerSet<string>({
    members: names,
    logger: () => {},
    checkIntervalMs: 0,
    minCallTimeoutMs: 100,
    hedge: { delayMs: 60_000 },
  });
  for (let i = 0; i < 200; i++) await set.all(fn);
  const answers = 200 * names.length;
  const timed = set.stats().timedAnswers;
  assert.ok(timed < answers / 2, `sampling is in effect: ${timed} of ${answers} answers timed`);
  assert.ok(timed >= answers / TIME_EVERY, `at least one answer in ${TIME_EVERY} timed: ${timed}`);
  // The best peer turns slow (20 ms, under the 100 ms adaptive timeout): only its sampled answers show it.
  const first = set.candidates()[0]!;
  delay.set(first, 20);
  for (let i = 0; i < 20 * TIME_EVERY && set.candidates()[names.length - 1] !== first; i++) await set.all(fn);
  assert.equal(set.candidates()[names.length - 1], first, 'the slow peer is asked last');
  assert.equal(set.state(first), 'up');
  // Now past the adaptive timeout: every call is given up on at its deadline, sampled or not.
  delay.set(first, 2000);
  const slowBefore = set.stats().slow;
  const results = await Promise.allSettled(Array.from({ length: TIME_EVERY }, () => set.call(first, fn)));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof PeerSlowError, String(r.reason));
  }
  assert.equal(set.stats().slow - slowBefore, TIME_EVERY);
  set.close();
});
