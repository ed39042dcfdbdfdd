// The phi-accrual detector against its formula: Akka's published values, the normal distribution it
// approximates, the history it keeps, and how it behaves under jitter and silence (virtual clock only).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { mulberry32 } from '../../src/faults/rng.js';
import { PhiAccrualDetector, phiOf } from '../../src/peers/index.js';

/** The probability phi stands for: phi = -log10(1 - F). */
function cdf(phi: number): number {
  return 1 - 10 ** -phi;
}

// The standard normal CDF at (x - mean) / sd, from the tables (what Akka's logistic approximation targets).
const normalTable: ReadonlyArray<[x: number, mean: number, sd: number, F: number]> = [
  [0, 0, 10, 0.5],
  [6, 0, 10, 0.7257],
  [15, 0, 10, 0.9332],
  [20, 0, 10, 0.97725],
  [25, 0, 10, 0.99379],
  [35, 0, 10, 0.99977],
  [40, 0, 10, 0.99997],
];

test('phi matches the normal CDF it approximates (Akka: "good enough cumulative distribution function")', () => {
  for (const [x, mean, sd, F] of normalTable) {
    const got = cdf(phiOf(x, mean, sd));
    assert.ok(Math.abs(got - F) < 0.001, `F(${x}; ${mean}, ${sd}) = ${got}, table ${F}`);
  }
});

// Akka's AccrualFailureDetectorSpec "return realistic phi values": mean 1000 ms, deviation 100 ms.
const akkaTable: ReadonlyArray<[elapsedMs: number, phi: number]> = [
  [0, 0.0],
  [500, 0.1],
  [1000, 0.3],
  [1200, 1.6],
  [1400, 4.7],
  [1600, 10.8],
  [1700, 15.3],
];

test("phi for mean 1000 ms and deviation 100 ms matches Akka's table", () => {
  for (const [elapsed, phi] of akkaTable) {
    assert.ok(
      Math.abs(phiOf(elapsed, 1000, 100) - phi) < 0.1,
      `phi(${elapsed}) = ${phiOf(elapsed, 1000, 100)}`,
    );
  }
});

test("Akka's defaults, and the first estimate seeded as two intervals at ± a quarter", () => {
  const d = new PhiAccrualDetector();
  assert.deepEqual(
    [
      d.threshold,
      d.maxSampleSize,
      d.minStdDeviationMs,
      d.acceptableHeartbeatPauseMs,
      d.firstHeartbeatEstimateMs,
    ],
    [8, 1000, 100, 3000, 1000],
  );
  assert.equal(d.samples, 2);
  assert.equal(d.meanMs, 1000);
  assert.equal(d.stdDeviationMs, 250);
  assert.equal(d.phi(0), 0, 'no heartbeat yet: phi 0');
});

test('phi uses mean + acceptable pause and the deviation floored at minStdDeviationMs', () => {
  const d = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 500, minStdDeviationMs: 50 });
  // Heartbeats exactly 200 ms apart: the history becomes 750, 1250 and then 200s.
  let t = 0;
  for (let i = 0; i < 50; i++, t += 200) d.heartbeat(t);
  t -= 200;
  const mean = (750 + 1250 + 49 * 200) / 51;
  const variance = (750 ** 2 + 1250 ** 2 + 49 * 200 ** 2) / 51 - mean ** 2;
  assert.ok(Math.abs(d.meanMs - mean) < 1e-9);
  for (const elapsed of [0, 100, 500, 900, 1500, 3000]) {
    const expected = phiOf(elapsed, mean + 500, Math.max(Math.sqrt(variance), 50));
    assert.ok(Math.abs(d.phi(t + elapsed) - expected) < 1e-9, `elapsed ${elapsed}`);
  }
  // With enough regular beats the deviation falls under the floor, which then applies.
  const regular = new PhiAccrualDetector({
    maxSampleSize: 10,
    minStdDeviationMs: 50,
    acceptableHeartbeatPauseMs: 0,
  });
  for (let i = 0; i < 20; i++) regular.heartbeat(i * 200);
  assert.equal(regular.stdDeviationMs, 0, 'the ring holds only the last 10 intervals, all 200 ms');
  assert.equal(regular.phi(19 * 200 + 300), phiOf(300, 200, 50));
});

test('an interval that ends a suspicious silence is not recorded', () => {
  const d = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 0, minStdDeviationMs: 10 });
  for (let i = 0; i < 10; i++) d.heartbeat(i * 100);
  const before = d.samples;
  const mean = d.meanMs;
  d.heartbeat(9 * 100 + 60_000);
  assert.equal(d.samples, before);
  assert.equal(d.meanMs, mean);
});

test('false positives under heartbeat jitter: none in 20 000 beats at the defaults, unlike a fixed timeout', () => {
  const random = mulberry32(14);
  const d = new PhiAccrualDetector();
  let t = 0;
  let phiVerdicts = 0;
  let fixedTimeoutVerdicts = 0;
  for (let i = 0; i < 20_000; i++) {
    // 1000 ms heartbeats with up to ±40 % jitter, and one beat in 100 delayed by a 2 s GC pause.
    const interval = 1000 * (0.6 + 0.8 * random()) + (random() < 0.01 ? 2000 : 0);
    // Just before the beat arrives: would the detector have judged the peer down?
    if (d.phi(t + interval - 1) >= d.threshold) phiVerdicts++;
    if (interval - 1 > 1500) fixedTimeoutVerdicts++;
    t += interval;
    d.heartbeat(t);
  }
  assert.equal(phiVerdicts, 0);
  assert.ok(
    fixedTimeoutVerdicts > 100,
    `a fixed 1.5 s timeout judged ${fixedTimeoutVerdicts} healthy beats dead`,
  );
});

test('time to suspect after silence: the first check where phi crosses the threshold, as the formula says', () => {
  const d = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 3000 });
  let t = 0;
  for (let i = 0; i < 100; i++, t += 1000) d.heartbeat(t);
  const last = t - 1000;
  const mean = d.meanMs + 3000;
  const sd = Math.max(d.stdDeviationMs, 100);
  // Solve phiOf(x) = 8 by bisection, independently of the detector's own reading.
  let lo = mean;
  let hi = mean + 100 * sd;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid, mean, sd) >= 8) hi = mid;
    else lo = mid;
  }
  // Checks every 100 ms of silence: count them until the detector says unavailable.
  let checks = 0;
  while (d.isAvailable(last + (checks + 1) * 100)) checks++;
  checks++;
  assert.equal(checks, Math.ceil(hi / 100));
  // With regular 1 s beats that is the 4th to 5th missed heartbeat (mean + 3 s pause + ~5.2 deviations).
  assert.equal(Math.floor(hi / 1000), 4);
});

test('options are checked: out of range and unknown names are InvalidOptionError', () => {
  assert.throws(() => new PhiAccrualDetector({ threshold: 0 }), InvalidOptionError);
  assert.throws(() => new PhiAccrualDetector({ maxSampleSize: 1.5 }), InvalidOptionError);
  assert.throws(() => new PhiAccrualDetector({ minStdDeviationMs: Number.NaN }), InvalidOptionError);
  assert.throws(() => new PhiAccrualDetector({ pause: 3 } as never), /not a known option/);
  assert.throws(() => new PhiAccrualDetector().heartbeat(Number.NaN), InvalidOptionError);
});
