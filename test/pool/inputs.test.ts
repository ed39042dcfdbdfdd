// Inputs that used to break the process: sizes that made the pool allocate for max up front (max: 1e9 aborted
// V8, uncatchable), and wrong-typed arguments that escaped as bare TypeErrors. Each is a typed error now.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { Pool, type PoolOptions } from '../../src/pool/index.js';
import { MAX_POOL_SIZE } from '../../src/pool/options.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 10_000 };

function isInvalid(option: string, message: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `${option}: ${String(error)}`);
    assert.equal(error.code, 'LIFELINE_INVALID_OPTION');
    assert.equal(error.option, option);
    assert.match(error.message, message);
    return true;
  };
}

test('size options are bounded: a huge max is an InvalidOptionError, not an abort or a 2 GB allocation', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ max: 1e9 }, 'max', /Pool option "max" must be an integer in \[1, 100000\], got 1000000000/],
    [{ max: 1e8 }, 'max', /\[1, 100000\]/],
    [{ max: Number.MAX_SAFE_INTEGER }, 'max', /\[1, 100000\]/],
    [{ max: Number.POSITIVE_INFINITY }, 'max', /\[1, 100000\], got Infinity/],
    [{ min: 1e6, max: 10 }, 'min', /Pool option "min" must be an integer in \[0, 100000\]/],
    [{ createConcurrency: 1e6 }, 'createConcurrency', /must be an integer in \[1, 1000\]/],
  ];
  for (const [patch, option, message] of cases) {
    const options = { factory: tokenFactory(), ...patch } as unknown as PoolOptions<Token>;
    assert.throws(() => new Pool(options), isInvalid(option, message));
  }
});

test(
  'the largest pool allowed is built without sizing anything by max, and grows as it lends',
  T,
  async () => {
    const p = new Pool<Token>({ factory: tokenFactory(), max: MAX_POOL_SIZE, createConcurrency: 50 });
    const held = await Promise.all(Array.from({ length: 300 }, () => p.acquire()));
    assert.equal(new Set(held).size, 300);
    for (const token of held) p.release(token);
    const stats = p.stats();
    assert.equal(stats.max, MAX_POOL_SIZE);
    assert.equal(stats.idle, 300);
    assert.equal(stats.busy, 0);
    await p.drain();
  },
);

test('wrong-typed arguments to acquire, use and drain reject with InvalidOptionError', T, async () => {
  const p = new Pool<Token>({ factory: tokenFactory(), max: 2 });
  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [
      () => p.acquire({ signal: 'x' } as never),
      'signal',
      /Pool.acquire option "signal" must be an AbortSignal, got 'x'/,
    ],
    [
      () => p.acquire({ signal: { aborted: true } } as never),
      'signal',
      /must be an AbortSignal, got an object/,
    ],
    [() => p.acquire(null as never), 'options', /Pool.acquire argument "options" must be an object/],
    [
      () => p.acquire('fast' as never),
      'options',
      /must be an object \{ signal\?, timeoutMs\? \}, got 'fast'/,
    ],
    [
      () => p.acquire({ timeoutMs: '5' } as never),
      'timeoutMs',
      /"timeoutMs" must be a number in \[1, Infinity\]/,
    ],
    [() => p.use('notfn' as never), 'fn', /Pool.use argument "fn" must be a function/],
    [() => p.use(() => 1, { signal: 5 } as never), 'signal', /must be an AbortSignal, got 5/],
    [() => p.drain(null as never), 'options', /Pool.drain argument "options" must be an object/],
  ];
  for (const [call, option, message] of cases) await assert.rejects(call(), isInvalid(option, message));
  // Nothing was taken or queued by the refused calls.
  assert.equal(p.stats().total, 0);
  assert.equal(p.stats().waiting, 0);
  await p.drain();
});

test(
  'release with wrong-typed options throws InvalidOptionError and leaves the resource lent out',
  T,
  async () => {
    const p = new Pool<Token>({ factory: tokenFactory(), max: 1 });
    const token = await p.acquire();
    assert.throws(
      () => p.release(token, null as never),
      isInvalid('options', /Pool.release argument "options"/),
    );
    assert.throws(
      () => p.release(token, { destroy: 'yes' } as never),
      isInvalid('destroy', /must be a boolean/),
    );
    assert.equal(p.stats().busy, 1);
    // Still the caller's to give back properly.
    p.release(token, { destroy: true });
    assert.equal(p.stats().total, 0);
    await p.drain();
  },
);

test('failWaiting rejects the queued acquires with the given error, and refuses a non-Error', T, async () => {
  const p = new Pool<Token>({ factory: tokenFactory(), max: 1 });
  const held = await p.acquire();
  const queued = [p.acquire(), p.acquire()];
  const outage = new Error('the server refuses logins');
  assert.throws(() => p.failWaiting('x' as never), isInvalid('error', /argument "error" must be an Error/));
  assert.equal(p.failWaiting(outage), 2);
  for (const acquire of queued) await assert.rejects(acquire, (e: unknown) => e === outage);
  assert.equal(p.stats().waiting, 0);
  // The resource held is untouched, and later acquires queue as usual.
  const next = p.acquire();
  p.release(held);
  assert.equal(await next, held);
  p.release(held);
  await p.drain();
});
