// Factory callbacks that throw or lie. `alive()` and `onDeath()` are user code the pool calls on its hot path
// and in the background; one that throws must not crash the process (uncaught) nor leak the slot (total=1,
// idle=0, busy=0 until acquires time out). The resource counts as dead: destroyed, slot freed, the next
// acquire gets a fresh one, and the failure is reported as a FactoryCallbackError with the thrown error as
// cause. A factory whose resources are dead at birth must not make the pool spin either.
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AcquireTimeoutError,
  CreatedDeadError,
  type Factory,
  FactoryCallbackError,
  Pool,
  type PoolOptions,
} from '../../src/pool/index.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 10_000 };

/** Fails the test on any uncaught exception or unhandled rejection while it runs. */
function noStrayErrors(t: TestContext): unknown[] {
  const stray: unknown[] = [];
  const record = (error: unknown): void => {
    stray.push(error);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  t.after(() => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  });
  return stray;
}

/** Holds the event loop open (the pool's own timers are unref'd) and lets background work run. */
async function settle(): Promise<void> {
  await delay(20);
}

const boom = new Error('alive() is broken');

/** A token factory whose alive() throws for the tokens in `broken`. */
function brokenAlive() {
  const factory = tokenFactory();
  const broken = new Set<Token>();
  const alive = (token: Token): boolean => {
    if (broken.has(token)) throw boom;
    return token.usable;
  };
  return { factory: { ...factory, alive }, broken, destroyed: factory.destroyed };
}

function observed<R>(pool: Pool<R>, listenErrors: boolean) {
  const errors: Error[] = [];
  const deaths: (Error | undefined)[] = [];
  if (listenErrors) pool.on('error', (error) => errors.push(error));
  pool.on('death', (_resource, error) => deaths.push(error));
  return { errors, deaths };
}

function assertCallbackError(error: unknown, callback: 'alive' | 'onDeath', cause: unknown): void {
  assert.ok(error instanceof FactoryCallbackError, String(error));
  assert.equal(error.code, 'LIFELINE_FACTORY_CALLBACK_FAILED');
  assert.equal(error.callback, callback);
  assert.equal(error.cause, cause);
  assert.match(error.message, new RegExp(`factory\\.${callback}\\(\\) threw`));
}

for (const listenErrors of [false, true]) {
  const label = listenErrors ? "with an 'error' listener" : "without an 'error' listener";

  test(
    `alive() throwing at handout: the resource is destroyed, the caller gets a fresh one (${label})`,
    T,
    async (t) => {
      const stray = noStrayErrors(t);
      const { factory, broken, destroyed } = brokenAlive();
      const pool = new Pool<Token>({ factory, max: 1 });
      const seen = observed(pool, listenErrors);
      const first = await pool.acquire();
      pool.release(first);
      broken.add(first);
      const second = await pool.acquire();
      assert.notEqual(second, first);
      assert.deepEqual(destroyed, [first]);
      const { total, busy, idle, evicted } = pool.stats();
      assert.deepEqual({ total, busy, idle, dead: evicted.dead }, { total: 1, busy: 1, idle: 0, dead: 1 });
      assertCallbackError(seen.deaths[0], 'alive', boom);
      if (listenErrors) assertCallbackError(seen.errors[0], 'alive', boom);
      pool.release(second);
      await settle();
      assert.deepEqual(stray, []);
      await pool.drain();
    },
  );

  test(`alive() throwing on release: release does not throw, the slot is freed (${label})`, T, async (t) => {
    const stray = noStrayErrors(t);
    const { factory, broken, destroyed } = brokenAlive();
    const pool = new Pool<Token>({ factory, max: 1 });
    const seen = observed(pool, listenErrors);
    const first = await pool.acquire();
    broken.add(first);
    pool.release(first);
    assert.deepEqual(destroyed, [first]);
    assert.equal(pool.stats().total, 0);
    const second = await pool.acquire({ timeoutMs: 2000 });
    assert.notEqual(second, first);
    assertCallbackError(seen.deaths[0], 'alive', boom);
    if (listenErrors) assertCallbackError(seen.errors[0], 'alive', boom);
    pool.release(second);
    assert.deepEqual(stray, []);
    await pool.drain();
  });

  test(
    `alive() throwing in housekeeping: no uncaught exception, the idle one is evicted (${label})`,
    T,
    async (t) => {
      const stray = noStrayErrors(t);
      const { factory, broken, destroyed } = brokenAlive();
      const pool = new Pool<Token>({ factory, max: 1, keepaliveIntervalMs: 10 });
      observed(pool, listenErrors);
      const first = await pool.acquire();
      pool.release(first);
      broken.add(first);
      while (destroyed.length === 0) await delay(5);
      assert.equal(pool.stats().total, 0);
      const second = await pool.acquire();
      assert.notEqual(second, first);
      pool.release(second);
      assert.deepEqual(stray, []);
      await pool.drain();
    },
  );

  test(
    `onDeath() throwing at registration: the resource is destroyed, the next create serves (${label})`,
    T,
    async (t) => {
      const stray = noStrayErrors(t);
      const factory = tokenFactory();
      const registrationError = new Error('onDeath() is broken');
      let registrations = 0;
      const onDeath: Factory<Token>['onDeath'] = () => {
        registrations++;
        if (registrations === 1) throw registrationError;
      };
      const pool = new Pool<Token>({
        factory: { ...factory, onDeath },
        max: 1,
        createRetry: { baseDelayMs: 1, maxDelayMs: 1 },
      });
      const seen = observed(pool, listenErrors);
      const token = await pool.acquire({ timeoutMs: 2000 });
      assert.equal(factory.created.length, 2);
      assert.deepEqual(factory.destroyed, [factory.created[0]]);
      assert.equal(token, factory.created[1]);
      assert.deepEqual({ total: pool.stats().total, busy: pool.stats().busy }, { total: 1, busy: 1 });
      assertCallbackError(seen.deaths[0], 'onDeath', registrationError);
      if (listenErrors) assertCallbackError(seen.errors[0], 'onDeath', registrationError);
      pool.release(token);
      await settle();
      assert.deepEqual(stray, []);
      await pool.drain();
    },
  );
}

/** A pool whose every resource is unusable at birth, and a timer that proves the event loop still turns. */
async function bornDead(
  t: TestContext,
  patch: Partial<Factory<Token>>,
  options: Partial<PoolOptions<Token>> = {},
) {
  const stray = noStrayErrors(t);
  const factory = { ...tokenFactory(), ...patch };
  const pool = new Pool<Token>({
    factory,
    max: 1,
    createRetry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  let turns = 0;
  const ticker = setInterval(() => turns++, 5);
  t.after(() => clearInterval(ticker));
  const error = await pool.acquire({ timeoutMs: 200 }).catch((e: unknown) => e);
  assert.ok(error instanceof AcquireTimeoutError, String(error));
  assert.ok(turns > 0, 'the event loop never turned: the pool spun');
  assert.ok(pool.stats().createErrors > 0);
  assert.equal(pool.stats().total, 0);
  assert.deepEqual(stray, []);
  await pool.drain();
  return { error, factory };
}

test(
  'resources dead at birth count as failed creates: backoff, no spin, the timeout says why',
  T,
  async (t) => {
    const { error } = await bornDead(t, { alive: () => false });
    assert.ok(error.cause instanceof CreatedDeadError);
    assert.equal(error.cause.code, 'LIFELINE_CREATED_DEAD');
    assert.match(error.message, /lastCreateError=LIFELINE_CREATED_DEAD/);
  },
);

test('an onDeath that reports every resource dead during registration: no spin either', T, async (t) => {
  const died = new Error('closed before use');
  const { error } = await bornDead(t, { onDeath: (_token, callback) => callback(died) });
  assert.ok(error.cause instanceof CreatedDeadError);
  assert.equal(error.cause.cause, died);
});

test(
  'alive() that always throws: every create fails with FactoryCallbackError, no spin, no crash',
  T,
  async (t) => {
    const { error } = await bornDead(t, {
      alive: () => {
        throw boom;
      },
    });
    assertCallbackError(error.cause, 'alive', boom);
  },
);

test(
  'an always-throwing onDeath: no spin, no crash, the timeout carries the callback error',
  T,
  async (t) => {
    const { error } = await bornDead(t, {
      onDeath: () => {
        throw boom;
      },
    });
    assertCallbackError(error.cause, 'onDeath', boom);
  },
);

test('a resource created fine after dead-at-birth ones is lent, and failures in a row reset', T, async () => {
  const factory = tokenFactory();
  // The first three are dead at birth.
  const alive = (token: Token): boolean => token.usable && factory.created.indexOf(token) >= 3;
  const pool = new Pool<Token>({
    factory: { ...factory, alive },
    max: 1,
    createRetry: { baseDelayMs: 1, maxDelayMs: 1 },
  });
  const token = await pool.acquire({ timeoutMs: 5000 });
  assert.equal(token, factory.created.at(-1));
  assert.equal(pool.stats().createFailuresInARow, 0);
  assert.equal(pool.stats().createErrors, 3);
  pool.release(token);
  await pool.drain();
});
