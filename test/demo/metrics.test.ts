// How the demo measures recovery, on hand-made op records: the figure must not depend on where chart
// buckets happen to fall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recoveryMs } from '../../src/demo/metrics.js';

type Op = { endMs: number; error: string | undefined };

/** One ok op every `everyMs` in [fromMs, toMs). */
function steady(fromMs: number, toMs: number, everyMs: number): Op[] {
  const ops: Op[] = [];
  for (let t = fromMs; t < toMs; t += everyMs) ops.push({ endMs: t, error: undefined });
  return ops;
}

const args = { windowMs: 250, durationMs: 6000, faultTimesMs: [1500, 3500], hung: 0 };

test('recovery is the time from the last fault action to the first op of the recovered streak', () => {
  const ops = [...steady(0, 1500, 10), ...steady(3537, 6000, 10)];
  assert.equal(recoveryMs(ops, args), 37);
  // The same ops with the heal a millisecond later: the figure moves by a millisecond, not a bucket.
  assert.equal(recoveryMs(ops, { ...args, faultTimesMs: [1500, 3501] }), 36);
});

test('a few stragglers do not count as recovered, and errors after the heal push recovery past them', () => {
  const stragglers: Op[] = [
    { endMs: 3600, error: undefined },
    { endMs: 3700, error: undefined },
  ];
  const ops = [
    ...steady(0, 1500, 10),
    ...stragglers,
    { endMs: 4000, error: 'refused' },
    ...steady(4500, 6000, 10),
  ];
  assert.equal(recoveryMs(ops, args), 1000);
});

test('never: throughput not back before the load stopped, ops hung, or no fault at all', () => {
  const ops = [...steady(0, 1500, 10), ...steady(5900, 6000, 50), ...steady(6000, 6500, 10)];
  assert.equal(recoveryMs(ops, args), null);
  assert.equal(recoveryMs(steady(0, 6000, 10), { ...args, hung: 1 }), null);
  assert.equal(recoveryMs(steady(0, 6000, 10), { ...args, faultTimesMs: [] }), null);
});
