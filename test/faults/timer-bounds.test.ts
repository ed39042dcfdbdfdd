import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_MS } from '../../src/core/options.js';
import { FaultProxy, type ToxicSpec, toxicDefinitions } from '../../src/faults/index.js';
import type { Sink } from '../../src/faults/toxic.js';
import { connect, echoServer, proxyTo, sleep, stageHarness } from './helpers.js';

const timeout = 15_000;

/** Collects the TimeoutOverflowWarnings the process emits while `run` runs (plus a few turns after). */
async function overflowWarnings(run: () => Promise<void>): Promise<number> {
  let count = 0;
  const listener = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning') count++;
  };
  process.on('warning', listener);
  try {
    await run();
    await sleep(20);
  } finally {
    process.off('warning', listener);
  }
  return count;
}

// Each toxic attribute that becomes a wait or a rate, just past its bound, and the message naming it.
const outOfRange: Array<[ToxicSpec, RegExp]> = [
  [
    { type: 'latency', attributes: { latency: MAX_TIMER_MS, jitter: MAX_TIMER_MS } },
    /latency \+ jitter must be at most 2147483647 \(ms\)/,
  ],
  [
    { type: 'latency', attributes: { latency: MAX_TIMER_MS + 1 } },
    /attribute latency .* 0 to 2147483647 \(ms\)/,
  ],
  [{ type: 'latency', attributes: { latency: 0, jitter: MAX_TIMER_MS + 1 } }, /attribute jitter .* \(ms\)/],
  [
    { type: 'bandwidth', attributes: { rate: 1e-10 } },
    /attribute rate .* 0 or a number from 0\.001 to 10000000/,
  ],
  [{ type: 'bandwidth', attributes: { rate: 10_000_001 } }, /attribute rate .* \(KB\/s\), got 10000001/],
  [{ type: 'slow_close', attributes: { delay: MAX_TIMER_MS + 1 } }, /attribute delay .* \(ms\)/],
  [{ type: 'timeout', attributes: { timeout: MAX_TIMER_MS + 1 } }, /attribute timeout .* \(ms\)/],
  [{ type: 'reset_peer', attributes: { timeout: 1e12 } }, /attribute timeout .* \(ms\)/],
  [{ type: 'slicer', attributes: { average_size: 1, delay: MAX_TIMER_MS * 1000 + 1 } }, /delay .* \(µs\)/],
  [{ type: 'slicer', attributes: { average_size: 2 ** 30 + 1 } }, /average_size .* \(bytes\)/],
  [{ type: 'limit_data', attributes: { bytes: 2 ** 53 } }, /attribute bytes .* \(bytes\)/],
  [{ type: 'half_close', attributes: { delay: Infinity } }, /attribute delay .* got Infinity/],
  [{ type: 'stall_reads', attributes: { duration: MAX_TIMER_MS + 1 } }, /attribute duration .* \(ms\)/],
  [{ type: 'lifetime', attributes: { lifetime: MAX_TIMER_MS + 1 } }, /attribute lifetime .* \(ms\)/],
  [{ type: 'reset_peer', target: { idleMs: MAX_TIMER_MS + 1 } }, /target\.idleMs .* 0 to 2147483647/],
];

// The largest accepted value of each of them: every timer a toxic arms then waits the longest it can.
const atTheBound: ToxicSpec[] = [
  { type: 'latency', attributes: { latency: MAX_TIMER_MS - 1000, jitter: 1000 } },
  { type: 'latency', attributes: { latency: 0, jitter: MAX_TIMER_MS } },
  { type: 'bandwidth', attributes: { rate: 0.001 } },
  { type: 'slow_close', attributes: { delay: MAX_TIMER_MS } },
  { type: 'timeout', attributes: { timeout: MAX_TIMER_MS } },
  { type: 'reset_peer', attributes: { timeout: MAX_TIMER_MS } },
  { type: 'slicer', attributes: { average_size: 1, delay: MAX_TIMER_MS * 1000 } },
  { type: 'half_close', attributes: { delay: MAX_TIMER_MS } },
  { type: 'stall_reads', attributes: { duration: MAX_TIMER_MS } },
  { type: 'lifetime', attributes: { lifetime: MAX_TIMER_MS } },
];

test('every attribute that becomes a wait or a rate is refused out of range with LIFELINE_INVALID_TOXIC', () => {
  const proxy = new FaultProxy({ upstream: '127.0.0.1:1' });
  for (const [spec, message] of outOfRange) {
    assert.throws(
      () => proxy.addToxic(spec),
      { code: 'LIFELINE_INVALID_TOXIC', message },
      JSON.stringify(spec),
    );
  }
  for (const [i, spec] of atTheBound.entries()) proxy.addToxic({ ...spec, name: `t${i}` });
  assert.equal(proxy.toxics().length, atTheBound.length, 'every value at its bound is accepted');
});

test('the largest accepted values arm no timer past Node’s limit: no TimeoutOverflowWarning, data held', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const warnings = await overflowWarnings(async () => {
    for (const spec of atTheBound) {
      for (const stream of ['upstream', 'downstream'] as const) {
        const { proxy, port } = await proxyTo(t, echo.address);
        proxy.addToxic({ ...spec, stream });
        const client = await connect(port);
        client.socket.write('x'.repeat(64));
        client.socket.end();
        await sleep(30);
        // The long latency and the black hole hold the data (jitter alone may draw a delay of 0).
        if (spec.type === 'timeout' || (spec.type === 'latency' && spec.attributes?.latency))
          assert.equal(client.bytes(), 0, `${spec.type} ${stream} still holds the data`);
        client.socket.destroy();
      }
    }
  });
  assert.equal(warnings, 0);
});

test('a stage given a wait past Node’s limit (validation bypassed) waits it out: no warning, nothing early', async () => {
  const runs: Array<[string, Record<string, number | boolean>, (stage: Sink) => void]> = [
    ['latency', { latency: 3 * MAX_TIMER_MS, jitter: 0 }, (s) => s.write(Buffer.from('a'))],
    ['bandwidth', { rate: 1e-10 }, (s) => s.write(Buffer.from('a'))],
    [
      'slicer',
      { average_size: 1, size_variation: 0, delay: 5 * MAX_TIMER_MS * 1000 },
      (s) => s.write(Buffer.from('ab')),
    ],
    ['slow_close', { delay: 3 * MAX_TIMER_MS }, (s) => s.end()],
    ['reset_peer', { timeout: 3 * MAX_TIMER_MS }, (s) => s.write(Buffer.from('a'))],
    ['lifetime', { lifetime: 3 * MAX_TIMER_MS, reset: false }, () => {}],
    ['half_close', { delay: 3 * MAX_TIMER_MS }, () => {}],
  ];
  const warnings = await overflowWarnings(async () => {
    for (const [type, attributes, act] of runs) {
      const { written, actions, sink, context } = stageHarness();
      const definition = toxicDefinitions[type as keyof typeof toxicDefinitions];
      const stage = definition.create(attributes as never, context, sink);
      act(stage);
      await sleep(30);
      // The slicer sends its first slice at once; what must wait is the second.
      assert.equal(written.length, type === 'slicer' ? 1 : 0, `${type}: nothing passed early`);
      assert.deepEqual(actions, [], `${type}: nothing fired early`);
      stage.detach();
    }
  });
  assert.equal(warnings, 0);
});
