// Pool behaviour that needs no network: order, abort, timeouts, leaks, lifetimes, keepalive, drain, options.
// Asserts outcomes and order only; durations in here are set-up, never thresholds.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LifelineError } from '../../src/core/errors.js';
import { InvalidOptionError } from '../../src/core/options.js';
import {
  AbortError,
  AcquireTimeoutError,
  InvalidReleaseError,
  Pool,
  PoolClosedError,
  PoolDrainingError,
  type PoolOptions,
} from '../../src/pool/index.js';
import { createBackoffMs, jitteredLifetimeMs } from '../../src/pool/jitter.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 10_000 };

/** Keeps the event loop alive for the test: the pool's own timers are unref'd by design. */
function holdOpen(t: TestContext): void {
  const timer = setInterval(() => {}, 1000);
  t.after(() => clearInterval(timer));
}

function pool(options: Omit<PoolOptions<Token>, 'factory'> = {}) {
  const factory = tokenFactory();
  return { factory, pool: new Pool<Token>({ factory, ...options }) };
}

test('waiters are served in arrival order, one release each', T, async () => {
  const { pool: p } = pool({ max: 1 });
  const held = await p.acquire();
  const served: number[] = [];
  const waiters = Array.from({ length: 6 }, (_, i) =>
    p.acquire(i % 2 === 0 ? undefined : { timeoutMs: 5000 }).then((token) => {
      served.push(i);
      p.release(token);
    }),
  );
  assert.equal(p.stats().waiting, 6);
  p.release(held);
  await Promise.all(waiters);
  assert.deepEqual(served, [0, 1, 2, 3, 4, 5]);
  await p.drain();
});

test('idle reuse is LIFO by default and FIFO on request', T, async () => {
  for (const idleOrder of ['lifo', 'fifo'] as const) {
    const { pool: p } = pool({ max: 3, idleOrder });
    const [a, b, c] = await Promise.all([p.acquire(), p.acquire(), p.acquire()]);
    p.release(a!);
    p.release(b!);
    p.release(c!);
    const next = await p.acquire();
    assert.equal(next, idleOrder === 'lifo' ? c : a);
    p.release(next);
    await p.drain();
  }
});

test(
  'abort: a waiting acquire rejects with AbortError carrying the reason, and leaves the queue',
  T,
  async () => {
    const { pool: p } = pool({ max: 1 });
    const held = await p.acquire();
    const controller = new AbortController();
    const aborted = p.acquire({ signal: controller.signal });
    const after = p.acquire();
    const reason = new Error('user went away');
    controller.abort(reason);
    const error = await aborted.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AbortError);
    assert.equal(error.code, 'LIFELINE_ABORTED');
    assert.equal(error.cause, reason);
    assert.equal(p.stats().waiting, 1);
    p.release(held);
    assert.equal(await after, held); // the aborted waiter took nothing
    p.release(held);
    // An already-aborted signal rejects at once.
    await assert.rejects(p.acquire({ signal: AbortSignal.abort(reason) }), AbortError);
    assert.equal(p.stats().acquireAborts, 2);
    await p.drain();
  },
);

test('timeout: the error names the pool state and the last create error', T, async () => {
  const { pool: p } = pool({ max: 2, acquireTimeoutMs: 50 });
  const held = [await p.acquire(), await p.acquire()];
  const results = await Promise.allSettled([p.acquire(), p.acquire(), p.acquire({ timeoutMs: 20 })]);
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    const error = (result as PromiseRejectedResult).reason;
    assert.ok(error instanceof AcquireTimeoutError);
    assert.ok(error instanceof LifelineError);
    assert.equal(error.code, 'LIFELINE_ACQUIRE_TIMEOUT');
    assert.match(
      error.message,
      /\(total=2, busy=2, idle=0, waiting=\d, pendingCreates=0, lastCreateError=none\)/,
    );
    assert.equal(error.stats.busy, 2);
  }
  assert.match(String((results[2] as PromiseRejectedResult).reason), /after 20 ms.*waiting=3/);
  assert.equal(p.stats().acquireTimeouts, 3);
  for (const token of held) p.release(token);
  await p.drain();
});

test('timeout after failing creates carries the create error as cause', T, async () => {
  const boom = Object.assign(new Error('password authentication failed'), { code: '28P01' });
  const p = new Pool<Token>({
    factory: { create: () => Promise.reject(boom), destroy: () => {}, alive: () => true },
    acquireTimeoutMs: 50,
  });
  const error = await p.acquire().catch((e: unknown) => e);
  assert.ok(error instanceof AcquireTimeoutError);
  assert.equal(error.cause, boom);
  assert.match(error.message, /lastCreateError=28P01: password authentication failed/);
  await p.drain();
});

test(
  'a create error that carries a connection string appears in the timeout message redacted',
  T,
  async () => {
    // The password holds an '@': the user info runs to the last one.
    const boom = new Error('could not connect to postgres://app:s3c@ret@db.internal:5432/app');
    const p = new Pool<Token>({
      factory: { create: () => Promise.reject(boom), destroy: () => {}, alive: () => true },
      acquireTimeoutMs: 50,
    });
    const error = await p.acquire().catch((e: unknown) => e);
    assert.ok(error instanceof AcquireTimeoutError);
    assert.doesNotMatch(error.message, /s3c|ret@/);
    assert.match(
      error.message,
      /lastCreateError=could not connect to postgres:\/\/app:\*\*\*@db\.internal:5432\/app\)/,
    );
    assert.equal(error.cause, boom, 'the cause is the create error itself');
    await p.drain();
  },
);

test('leak detection emits the acquiring stack once per acquire', T, async (t) => {
  holdOpen(t); // the pool's timers are unref'd and a Token, unlike a socket, keeps nothing alive
  const { pool: p } = pool({ max: 1, leakDetectionMs: 20 });
  const token = await (async function acquireAndForget() {
    return p.acquire();
  })();
  const [report] = await once(p, 'leak');
  assert.equal(report.resource, token);
  assert.match(report.stack, /acquireAndForget/);
  assert.match(report.stack, /pool\.test\.ts/);
  await delay(60);
  assert.equal(p.stats().leaks, 1);
  p.release(token);
  await p.drain();
});

test('lifetime: jitter shortens, never lengthens, and spreads lifetimes over the range', () => {
  assert.equal(
    jitteredLifetimeMs(1000, 0.2, () => 0),
    1000,
  );
  assert.equal(
    jitteredLifetimeMs(1000, 0.2, () => 0.5),
    900,
  );
  assert.equal(jitteredLifetimeMs(1000, 0, Math.random), 1000);
  const samples = Array.from({ length: 1000 }, () => jitteredLifetimeMs(1000, 0.2));
  assert.ok(samples.every((ms) => ms > 800 && ms <= 1000));
  // Spread: every tenth of the jitter range is hit.
  const buckets = new Set(samples.map((ms) => Math.floor((1000 - ms) / 20)));
  assert.equal(buckets.size, 10);
});

test('lifetime: resources created together expire in separate passes, not in one wave', T, async (t) => {
  holdOpen(t);
  const { pool: p } = pool({ max: 10, createConcurrency: 10, maxLifetimeMs: 1000, lifetimeJitter: 0.5 });
  const tokens = await Promise.all(Array.from({ length: 10 }, () => p.acquire()));
  for (const token of tokens) p.release(token);
  // Count synchronous eviction passes: evictions in one pass share no microtask checkpoint.
  let passes = 0;
  let inPass = false;
  const reasons: string[] = [];
  p.on('evict', (_token, reason) => {
    reasons.push(reason);
    if (inPass) return;
    inPass = true;
    passes++;
    queueMicrotask(() => {
      inPass = false;
    });
  });
  while (reasons.length < 10) await once(p, 'evict');
  assert.deepEqual(new Set(reasons), new Set(['lifetime']));
  assert.ok(passes >= 2, `all ten expired in ${passes} pass`);
  await p.drain();
});

test('lifetime: a busy resource past its lifetime is retired on release, not while in use', T, async () => {
  const { pool: p, factory } = pool({ max: 1, maxLifetimeMs: 30, lifetimeJitter: 0 });
  const token = await p.acquire();
  await delay(80);
  assert.equal(factory.destroyed.length, 0);
  const evicted = once(p, 'evict');
  p.release(token);
  assert.deepEqual(await evicted, [token, 'lifetime']);
  assert.notEqual(await p.acquire(), token);
  await p.drain({ timeoutMs: 0 });
});

test('keepalive pings idle resources; one whose ping fails is evicted and min restored', T, async (t) => {
  holdOpen(t);
  const pinged: Token[] = [];
  let failNext = false;
  const factory = tokenFactory();
  const p = new Pool<Token>({
    factory: {
      ...factory,
      ping: async (token) => {
        pinged.push(token);
        if (failNext) throw new Error('no pong');
      },
    },
    min: 1,
    keepaliveIntervalMs: 20,
  });
  while (pinged.length < 2) await delay(10);
  assert.equal(p.stats().idle, 1);
  failNext = true;
  const [token, reason] = await once(p, 'evict');
  assert.equal(reason, 'ping-failed');
  assert.equal(token, factory.created[0]);
  failNext = false;
  while (p.stats().idle < 1) await once(p, 'create');
  assert.equal(factory.created.length, 2);
  await p.drain();
});

test('a dead idle resource is replaced transparently; the caller never sees it', T, async () => {
  const { pool: p, factory } = pool({ max: 2 });
  const [a, b] = await Promise.all([p.acquire(), p.acquire()]);
  p.release(a!);
  p.release(b!);
  a!.usable = false;
  b!.usable = false;
  const deaths: Token[] = [];
  p.on('death', (token) => deaths.push(token));
  const next = await p.acquire();
  assert.ok(next.usable);
  assert.deepEqual(
    deaths.sort((x, y) => x.id - y.id),
    [a, b],
  );
  assert.equal(factory.created.length, 3);
  p.release(next);
  await p.drain();
});

test('release: destroy and error options destroy; double release throws InvalidReleaseError', T, async () => {
  const { pool: p, factory } = pool({ max: 2 });
  const a = await p.acquire();
  const b = await p.acquire();
  p.release(a, { destroy: true });
  p.release(b, { error: new Error('protocol out of sync') });
  assert.deepEqual(factory.destroyed, [a, b]);
  assert.equal(p.stats().evicted['released-destroy'], 2);
  const c = await p.acquire();
  p.release(c);
  assert.throws(() => p.release(c), InvalidReleaseError);
  await p.drain();
});

test('use() releases on success and on throw', T, async () => {
  const { pool: p } = pool({ max: 1 });
  assert.equal(await p.use((token) => token.id >= 0), true);
  await assert.rejects(
    p.use(() => {
      throw new Error('query failed');
    }),
    /query failed/,
  );
  assert.equal(p.stats().idle, 1);
  assert.equal(p.stats().busy, 0);
  await p.drain();
});

test('drain: waiters rejected, new acquires refused, busy ones awaited, then closed', T, async () => {
  const { pool: p, factory } = pool({ max: 1 });
  const held = await p.acquire();
  const waiting = p.acquire();
  const drained = p.drain();
  await assert.rejects(waiting, PoolDrainingError);
  await assert.rejects(p.acquire(), PoolDrainingError);
  assert.equal(factory.destroyed.length, 0);
  p.release(held);
  await drained;
  assert.deepEqual(factory.destroyed, [held]);
  await assert.rejects(p.acquire(), PoolClosedError);
  assert.equal(p.drain(), drained);
});

test('drain timeout: resources still lent out are destroyed; a late release is ignored', T, async () => {
  const { pool: p, factory } = pool({ max: 1 });
  const held = await p.acquire();
  await p.drain({ timeoutMs: 10 });
  assert.deepEqual(factory.destroyed, [held]);
  assert.equal(p.stats().evicted['drain-timeout'], 1);
  p.release(held);
});

test('create backoff: full jitter within an exponentially growing cap', () => {
  assert.equal(createBackoffMs(0, 100, 5000), 0);
  assert.equal(createBackoffMs(1, 100, 5000, () => 0.999999) < 100, true);
  assert.equal(Math.round(createBackoffMs(4, 100, 5000, () => 1)), 800);
  assert.equal(
    createBackoffMs(40, 100, 5000, () => 1),
    5000,
  );
});

const BAD: [Record<string, unknown>, string, RegExp][] = [
  [{ max: -1 }, 'max', /"max" must be an integer in \[1, 100000\], got -1/],
  [{ max: 2.5 }, 'max', /integer/],
  [{ min: Number.NaN }, 'min', /"min" must be an integer in \[0, 100000\], got NaN/],
  [{ min: 5, max: 2 }, 'min', /"min" must be <= max \(2\), got 5/],
  [{ maxx: 3 }, 'maxx', /"maxx" is not a known option \(known: factory, min, max/],
  [{ idleTimeoutMs: -5 }, 'idleTimeoutMs', /\[0, Infinity\]/],
  [{ acquireTimeoutMs: 0 }, 'acquireTimeoutMs', /\[1, Infinity\]/],
  [{ lifetimeJitter: 2 }, 'lifetimeJitter', /a number in \[0, 0\.5\], got 2/],
  [{ createConcurrency: '4' }, 'createConcurrency', /got '4'/],
  [{ idleOrder: 'random' }, 'idleOrder', /one of 'lifo', 'fifo', got 'random'/],
  [{ createRetry: { baseDelayMs: 0 } }, 'createRetry.baseDelayMs', /\[1, ∞\)/],
  [{ createRetry: { baseDelayMs: 500, maxDelayMs: 100 } }, 'createRetry.maxDelayMs', />= baseDelayMs/],
  [{ factory: { create: async () => ({}), destroy: () => {} } }, 'factory.alive', /is required/],
];

test('bad options throw InvalidOptionError naming the option and the allowed range', () => {
  for (const [patch, option, message] of BAD) {
    const options = { factory: tokenFactory(), ...patch } as unknown as PoolOptions<Token>;
    assert.throws(
      () => new Pool(options),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError, `${option}: ${String(error)}`);
        assert.equal(error.code, 'LIFELINE_INVALID_OPTION');
        assert.equal(error.option, option);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test('bad per-call options reject, naming the option', async () => {
  const { pool: p } = pool();
  await assert.rejects(p.acquire({ timeoutMs: -1 }), /Pool.acquire option "timeoutMs"/);
  await assert.rejects(p.drain({ timeoutMs: Number.NaN }), /Pool.drain option "timeoutMs"/);
  await p.drain();
});

/** A token pool whose ping waits for the test to answer it. */
function slowPingPool(options: Omit<PoolOptions<Token>, 'factory'>) {
  const factory = tokenFactory();
  const pongs: (() => void)[] = [];
  const p = new Pool<Token>({
    factory: { ...factory, ping: () => new Promise<void>((resolve) => pongs.push(resolve)) },
    validateAfterIdleMs: 0,
    ...options,
  });
  return { pool: p, factory, pongs };
}

test('an acquire aborted during the pre-handout ping leaves the resource in the pool', T, async () => {
  const { pool: p, factory, pongs } = slowPingPool({ max: 1 });
  p.release(await p.acquire()); // fresh: no ping
  const controller = new AbortController();
  const acquiring = p.acquire({ signal: controller.signal });
  while (pongs.length === 0) await delay(1);
  assert.equal(p.stats().checking, 1);
  controller.abort();
  await assert.rejects(acquiring, AbortError);
  pongs.shift()!();
  while (p.stats().checking > 0) await delay(1);
  assert.equal(p.stats().idle, 1);
  assert.equal(factory.destroyed.length, 0);
  await p.drain();
});

test(
  'a deadline during a slow ping: the caller times out on time, the resource stays when the ping answers',
  T,
  async (t) => {
    holdOpen(t);
    const { pool: p, factory, pongs } = slowPingPool({ max: 1, pingTimeoutMs: 5000 });
    p.release(await p.acquire());
    const error = await p.acquire({ timeoutMs: 30 }).catch((e: unknown) => e);
    assert.ok(error instanceof AcquireTimeoutError);
    assert.match(error.message, /checking=1/);
    assert.equal(pongs.length, 1); // still pinging
    pongs.shift()!();
    while (p.stats().checking > 0) await delay(1);
    assert.equal(p.stats().idle, 1);
    assert.equal(factory.destroyed.length, 0);
    await p.drain();
  },
);

test(
  'timeouts longer than a Node timer holds (Infinity, 2^32 ms) wait instead of firing after 1 ms',
  T,
  async (t) => {
    holdOpen(t);
    // createTimeoutMs: a create slower than 1 ms succeeds.
    const slow = tokenFactory();
    const creating = new Pool<Token>({
      factory: {
        ...slow,
        create: async (signal) => {
          await delay(50);
          return slow.create(signal);
        },
      },
      createTimeoutMs: Number.POSITIVE_INFINITY,
    });
    const token = await creating.acquire();
    assert.equal(token, slow.created[0]);
    assert.equal(creating.stats().createErrors, 0);
    creating.release(token);
    await creating.drain();

    // pingTimeoutMs: a ping slower than 1 ms passes.
    const {
      pool: pinging,
      factory,
      pongs,
    } = slowPingPool({ max: 1, pingTimeoutMs: Number.POSITIVE_INFINITY });
    const first = await pinging.acquire();
    pinging.release(first);
    const again = pinging.acquire();
    while (pongs.length === 0) await delay(1);
    await delay(50);
    pongs.shift()!();
    assert.equal(await again, first);
    assert.equal(pinging.stats().evicted['ping-failed'], 0);
    pinging.release(first);
    await pinging.drain();
    assert.deepEqual(factory.destroyed, [first]);

    // drain({ timeoutMs }): a resource still lent out is awaited, not destroyed after 1 ms.
    const { pool: draining, factory: drainFactory } = pool({ max: 1 });
    const held = await draining.acquire();
    const drained = draining.drain({ timeoutMs: 2 ** 32 });
    await delay(50);
    assert.deepEqual(drainFactory.destroyed, []);
    draining.release(held);
    await drained;
    assert.equal(draining.stats().evicted.drain, 1);
    assert.equal(draining.stats().evicted['drain-timeout'], 0);
  },
);

test('acquire and release events reach listeners added after removeAllListeners()', T, async () => {
  const { pool: p } = pool({ max: 1 });
  p.on('acquire', () => {});
  p.removeAllListeners();
  const seen: string[] = [];
  p.on('acquire', () => seen.push('acquire'));
  p.on('release', () => seen.push('release'));
  p.release(await p.acquire());
  assert.deepEqual(seen, ['acquire', 'release']);
  await p.drain();
});
