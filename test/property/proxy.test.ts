// Property: the fault proxy's data-preserving toxics (none, latency, slicer, bandwidth) deliver exactly the
// bytes sent, in order, both ways; and a seed reproduces the same per-connection toxicity decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ToxicSpec } from '../../src/faults/index.js';
import { connect, echoServer, proxyTo } from '../faults/helpers.js';
import { params } from './support.js';

const toxic: fc.Arbitrary<ToxicSpec | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({
    type: fc.constant('latency' as const),
    stream: fc.constantFrom('upstream' as const, 'downstream' as const),
    attributes: fc.record({
      latency: fc.integer({ min: 0, max: 5 }),
      jitter: fc.integer({ min: 0, max: 5 }),
    }),
  }),
  fc.record({
    type: fc.constant('slicer' as const),
    stream: fc.constantFrom('upstream' as const, 'downstream' as const),
    // size_variation must stay below average_size (checked by the toxic).
    attributes: fc
      .tuple(fc.integer({ min: 1, max: 64 }), fc.nat(63), fc.integer({ min: 0, max: 200 }))
      .map(([average_size, v, delay]) => ({ average_size, size_variation: v % average_size, delay })),
  }),
  fc.record({
    type: fc.constant('bandwidth' as const),
    stream: fc.constantFrom('upstream' as const, 'downstream' as const),
    attributes: fc.record({ rate: fc.integer({ min: 200, max: 5000 }) }),
  }),
);

describe('fault proxy properties', () => {
  it('pass-through, latency, slicer and bandwidth deliver exactly the bytes sent, in order', async (t) => {
    const upstream = await echoServer(t);
    const { proxy, port } = await proxyTo(t, upstream.address);
    await fc.assert(
      fc.asyncProperty(
        fc.array(toxic, { maxLength: 3 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { minLength: 1, maxLength: 4 }),
        async (toxics, writes) => {
          proxy.resetToxics();
          toxics.forEach((spec, i) => {
            if (spec) proxy.addToxic({ ...spec, name: `t${i}` });
          });
          const client = await connect(port);
          const sent = Buffer.concat(writes.map((w) => Buffer.from(w)));
          for (const w of writes) client.socket.write(w);
          await client.received(sent.length);
          client.socket.destroy();
          assert.deepEqual(Buffer.concat(client.chunks), sent);
        },
      ),
      params(40),
    );
  });

  it('a seed reproduces the same per-connection decisions', async (t) => {
    const upstream = await echoServer(t);
    // Which of n connections a toxic of toxicity p acts on: reset_peer resets those it acts on at once.
    const decisions = async (seed: number, toxicity: number, n: number): Promise<boolean[]> => {
      const { proxy, port } = await proxyTo(t, upstream.address, { seed });
      proxy.addToxic({
        name: 'r',
        type: 'reset_peer',
        stream: 'upstream',
        toxicity,
        attributes: { timeout: 0 },
      });
      const hit: boolean[] = [];
      for (let i = 0; i < n; i++) {
        const client = await connect(port);
        client.socket.write('x');
        const outcome = await Promise.race([client.received(1).then(() => 'echo'), client.finished]);
        client.socket.destroy();
        hit.push(outcome !== 'echo');
      }
      await proxy.stop();
      return hit;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        async (seed, toxicity) => {
          const first = await decisions(seed, toxicity, 6);
          const second = await decisions(seed, toxicity, 6);
          assert.deepEqual(second, first);
        },
      ),
      params(8),
    );
  });
});
