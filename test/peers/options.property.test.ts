// Property (issue 16): PeerSet's options, quorum()'s k and options, call()'s options and the detector's
// options take any value. Each run builds the object, uses it (a quorum against in-process peers), and
// closes it; it must end in a working result or a typed LifelineError — an InvalidOptionError naming the
// option — never a raw TypeError/RangeError, and never a hang (every run is raced against a bound).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PeerSet, PhiAccrualDetector } from '../../src/peers/index.js';
import { acceptsOrNames, hostile, params } from '../property/support.js';

/** A run that neither settles nor fails within this is a hang (in-process peers answer in a loop turn). */
const HANG_MS = 5000;

async function bounded(what: string, run: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what}: hung` })), HANG_MS);
  });
  try {
    await Promise.race([run(), hang]);
  } finally {
    clearTimeout(timer);
  }
}

const MEMBERS = ['a:1', 'b:1', 'c:1', 'd:1'];
const answer = (peer: string): Promise<string> => new Promise((resolve) => setImmediate(resolve, peer));
const withSignal = (peer: string, signal: AbortSignal): Promise<string> => {
  assert.equal(signal.aborted, false);
  return answer(peer);
};
const silent = (): void => {};

/** Options as `path` ('detector.threshold') set to `value`, inside otherwise valid options. */
function optionsWith(path: string, value: unknown): Record<string, unknown> {
  const [head, tail] = path.split('.') as [string, string | undefined];
  const options: Record<string, unknown> = { members: MEMBERS, logger: silent, checkIntervalMs: 0 };
  if (tail === undefined) options[head] = value;
  else options[head] = { ...(head === 'heartbeat' ? { send: answer } : {}), [tail]: value };
  return options;
}

const TOP = [
  'members',
  'key',
  'heartbeat',
  'detector',
  'suspectPhi',
  'recoverAfter',
  'retryDownAfterMs',
  'slowCallFactor',
  'minCallTimeoutMs',
  'maxCallTimeoutMs',
  'outlier',
  'hedge',
  'logger',
  'logWindowMs',
  'checkIntervalMs',
  'clock',
  'unknownOption',
];
const NESTED = [
  'heartbeat.send',
  'heartbeat.intervalMs',
  'heartbeat.other',
  'detector.threshold',
  'detector.maxSampleSize',
  'detector.minStdDeviationMs',
  'detector.acceptableHeartbeatPauseMs',
  'detector.firstHeartbeatEstimateMs',
  'detector.other',
  'outlier.consecutiveFailures',
  'outlier.baseEjectionMs',
  'outlier.maxEjectionMs',
  'outlier.maxEjectedPercent',
  'hedge.maxTokens',
  'hedge.tokenRatio',
  'hedge.delayMs',
  'hedge.percentile',
];

/** Builds a set with `options`, runs a quorum of 2 and an any(), closes it. */
async function useSet(options: Record<string, unknown>): Promise<void> {
  const set = new PeerSet<string>(options);
  try {
    const results = await set.quorum(2, answer, { deadlineMs: 2000 });
    assert.equal(results.length, 2);
    await set.any(withSignal);
    set.check();
    set.stats();
  } finally {
    set.close();
  }
}

describe('PeerSet options take any value', { timeout: 300_000 }, () => {
  it('PeerSet: any value for any option, top-level or nested', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TOP, ...NESTED), hostile, async (path, value) => {
        // A member no key can be made for is the `key` option's business (the message says so).
        const names = path === 'members' ? ['members', 'key'] : [path];
        await bounded(path, async () => {
          try {
            await useSet(optionsWith(path, value));
          } catch (error) {
            const named = names.find((n) => (error as { option?: unknown }).option === n) ?? path;
            await acceptsOrNames(named, () => {
              throw error;
            });
          }
        });
      }),
      params(800),
    );
  });

  it('quorum(): any k, any value for any of its options', async () => {
    const set = new PeerSet<string>({ members: MEMBERS, logger: silent, checkIntervalMs: 0 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostile, fc.integer({ min: -2, max: 6 })),
          fc.constantFrom('signal', 'deadlineMs', 'hedgeDelayMs', 'other'),
          hostile,
          async (k, key, value) => {
            await bounded(`quorum(${typeof k}) ${key}`, () =>
              acceptsOrNames(key, async () => {
                try {
                  await set.quorum(k as number, withSignal, { [key]: value });
                } catch (error) {
                  // k is an argument of its own: its error names it.
                  if ((error as { option?: unknown }).option === 'k') return;
                  throw error;
                }
              }),
            );
          },
        ),
        params(600),
      );
      // Whatever the runs did, the set still works.
      assert.equal((await set.quorum(3, answer)).length, 3);
      assert.equal(set.stats().up, MEMBERS.length);
    } finally {
      set.close();
    }
  });

  it('quorum() and call(): any value as the options object itself', async () => {
    const set = new PeerSet<string>({ members: MEMBERS, logger: silent, checkIntervalMs: 0 });
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('quorum', 'call'), hostile, async (method, value) => {
          await bounded(`${method} options`, async () => {
            const options = value as { signal?: AbortSignal };
            try {
              if (method === 'quorum') await set.quorum(2, withSignal, options);
              else await set.call('a:1', withSignal, options);
            } catch (error) {
              // The options object as a whole, or one of its keys (an unknown one, a value out of range).
              const option = (error as { option?: unknown }).option;
              const keys = typeof value === 'object' && value !== null ? Object.keys(value) : [];
              const named = typeof option === 'string' && keys.includes(option) ? option : 'options';
              await acceptsOrNames(named, () => {
                throw error;
              });
            }
          });
        }),
        params(300),
      );
      assert.equal((await set.quorum(4, answer)).length, 4);
    } finally {
      set.close();
    }
  });

  it('call(), any() and all(): any value for the call function and the signal', async () => {
    const set = new PeerSet<string>({ members: MEMBERS, logger: silent, checkIntervalMs: 0 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('fn', 'signal', 'peer'),
          fc.constantFrom('call', 'any', 'all'),
          hostile,
          async (what, method, value) => {
            await bounded(`${method} ${what}`, () =>
              acceptsOrNames(what, async () => {
                const fn = (what === 'fn' ? value : withSignal) as typeof withSignal;
                const options = what === 'signal' ? { signal: value as AbortSignal } : {};
                if (method === 'call')
                  await set.call(what === 'peer' ? (value as string) : 'a:1', fn, options);
                else if (method === 'any') await set.any(fn, options);
                else await set.all(fn, options);
              }),
            );
          },
        ),
        params(600),
      );
      assert.equal((await set.quorum(4, answer)).length, 4);
    } finally {
      set.close();
    }
  });

  it('PhiAccrualDetector: any value for any option; its readings stay numbers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'threshold',
          'maxSampleSize',
          'minStdDeviationMs',
          'acceptableHeartbeatPauseMs',
          'firstHeartbeatEstimateMs',
          'other',
        ),
        hostile,
        async (key, value) => {
          await acceptsOrNames(key, () => {
            const detector = new PhiAccrualDetector({ [key]: value });
            for (let t = 0; t <= 10_000; t += 1000) detector.heartbeat(t);
            const phi = detector.phi(20_000);
            assert.ok(!Number.isNaN(phi) && phi >= 0, `phi ${phi}`);
          });
        },
      ),
      params(400),
    );
  });
});
