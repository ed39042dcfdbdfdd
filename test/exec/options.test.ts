import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import {
  CircuitBreaker,
  type ExecuteOptions,
  execute,
  executor,
  HedgePolicy,
  HostSet,
  parseRetryAfter,
  RetryBudget,
  RetryPolicy,
} from '../../src/index.js';
import { rejectionOf } from './observe.js';

const op = async () => 1;

async function rejection(options: unknown): Promise<InvalidOptionError> {
  const error = await rejectionOf(
    execute(op, options as ExecuteOptions),
    `accepted ${JSON.stringify(options)}`,
  );
  assert.ok(error instanceof InvalidOptionError, `got ${String(error)}`);
  assert.equal(error.code, 'LIFELINE_INVALID_OPTION');
  return error;
}

describe('bad options get clear errors naming the option and the range', () => {
  test('execute()', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ deadlineMs: 0 }, /execute option "deadlineMs" must be a number in \[1, 2147483647\], got 0/],
      [{ deadlineMs: '5' }, /"deadlineMs" must be a number .*, got '5'/],
      [{ deadline: -1 }, /execute option "deadline" must be a number in \[0, /],
      [
        { retry: { maxAttempts: 0 } },
        /RetryPolicy option "maxAttempts" must be an integer in \[1, 100\], got 0/,
      ],
      [{ route: 'both' }, /"route" must be one of 'read', 'write', got 'both'/],
      [{ hedge: { delayMs: 10 } }, /"hedge" needs idempotent: true/],
      [{ idempotent: 'yes' }, /"idempotent" must be a boolean/],
      [{ signal: {} }, /"signal" must be an AbortSignal/],
      [{ budget: { percentCanRetry: 0.2 } }, /"budget" must be a RetryBudget/],
      [{ deadlinMs: 10 }, /"deadlinMs" is not a known option/],
    ];
    for (const [options, message] of cases) assert.match((await rejection(options)).message, message);
  });

  test('policies, at construction', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [
        () => new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 10 }),
        /"maxDelayMs" must be ≥ baseDelayMs \(100\), got 10/,
      ],
      [
        () => new RetryBudget({ percentCanRetry: 2 }),
        /RetryBudget option "percentCanRetry" must be a number in \[0, 1\], got 2/,
      ],
      [() => new CircuitBreaker({ failureRate: 0 }), /"failureRate" must be a number in \(0, 1\], got 0/],
      [() => new CircuitBreaker({ halfOpenProbes: 1.5 }), /"halfOpenProbes" must be an integer/],
      [() => new HostSet([]), /"hosts" must be a non-empty array/],
      [
        () => new HostSet(Array.from({ length: 1001 }, (_, i) => ({ host: 'db', port: 1 + i }))),
        /"hosts" must be a non-empty array of .*, at most 1000 long, got an array/,
      ],
      [
        () => new HostSet([{ host: 'db', port: 70000 }]),
        /"hosts\[0\]\.port" must be an integer in \[1, 65535\], got 70000/,
      ],
      [
        () => new HostSet([{ host: 'db', port: 5432 }], { breaker: { coolDownMs: 0 } }),
        /"breaker\.coolDownMs"/,
      ],
    ];
    for (const [construct, message] of cases) {
      assert.throws(construct, (e: unknown) => e instanceof InvalidOptionError && message.test(e.message));
    }
  });

  test('wrong-typed arguments reject with InvalidOptionError, not a bare TypeError', async () => {
    for (const notFn of ['notfn', undefined, null, 5, {}]) {
      const error = await rejectionOf(execute(notFn as unknown as typeof op), `accepted op ${String(notFn)}`);
      assert.ok(error instanceof InvalidOptionError, String(error));
      assert.equal(error.option, 'op');
      assert.match(error.message, /execute argument "op" must be a function \(attempt\) => Promise/);
    }
    // A plan for {} already cached must not make null slip past the check.
    await execute(op, {});
    for (const notOptions of [null, 'fast', 5]) {
      const error = await rejection(notOptions);
      assert.equal(error.option, 'options');
      assert.match(error.message, /execute argument "options" must be an object/);
    }
  });

  test('RetryPolicy.delayMs with a wrong-typed argument', () => {
    const policy = new RetryPolicy();
    assert.throws(
      () => policy.delayMs(1, 'random' as never),
      (e: unknown) =>
        e instanceof InvalidOptionError && /argument "random" must be a function/.test(e.message),
    );
    assert.throws(
      () => policy.delayMs('2' as never),
      (e: unknown) =>
        e instanceof InvalidOptionError && /argument "retry" must be a number ≥ 1/.test(e.message),
    );
  });

  test('parseRetryAfter reads a non-string header value as absent', () => {
    for (const value of [null, 5, {}, ['1']]) assert.equal(parseRetryAfter(value as never), undefined);
    assert.equal(parseRetryAfter('2'), 2000);
  });

  test('clock and latency arguments of the policies must be finite numbers', () => {
    const breaker = new CircuitBreaker();
    const budget = new RetryBudget();
    const hedge = new HedgePolicy();
    const calls: Array<[() => unknown, RegExp]> = [
      [
        () => breaker.acquire('now' as never),
        /CircuitBreaker.acquire argument "now" must be a finite number ≥ 0/,
      ],
      [() => breaker.failure(0, Symbol('t') as never), /CircuitBreaker.failure argument "now"/],
      [() => breaker.trip(Number.NaN), /CircuitBreaker.trip argument "now" must be .*, got NaN/],
      [() => budget.tryWithdraw(Object.create(null)), /RetryBudget.tryWithdraw argument "now"/],
      [() => budget.deposit(Number.POSITIVE_INFINITY), /RetryBudget.deposit argument "now"/],
      [() => hedge.record('5' as never), /HedgePolicy.record argument "ms" must be a finite number, got '5'/],
    ];
    for (const [call, message] of calls) {
      assert.throws(call, (e: unknown) => e instanceof InvalidOptionError && message.test(e.message));
    }
    // A latency measured across a clock step back is a 0 ms sample, not an error.
    for (let i = 0; i < 30; i++) hedge.record(-5);
    assert.equal(hedge.delayMs(), 0);
  });

  test('a breaker state listener that is not a function', () => {
    assert.throws(
      () => new CircuitBreaker().onStateChange('log' as never),
      (e: unknown) =>
        e instanceof InvalidOptionError && /"listener" must be a function, got 'log'/.test(e.message),
    );
  });
});

describe('a new options literal on every call', () => {
  test('is still validated in full after the same values were seen', async () => {
    const classify = () => ({ kind: 'rejected', transient: false }) as const;
    for (let i = 0; i < 3; i++) assert.equal(await execute(op, { deadlineMs: 777, classify }), 1);
    assert.match((await rejection({ deadlineMs: 777, classify, deadlinMs: 5 })).message, /"deadlinMs"/);
    assert.match((await rejection({ deadlineMs: 777, classify: 'no' })).message, /"classify"/);
    assert.match((await rejection({ deadlineMs: 777, classify, signal: {} })).message, /"signal"/);
    assert.match((await rejection({ deadlineMs: 777, classify, deadline: -1 })).message, /"deadline"/);
  });

  test('gets the plan of its own values', async () => {
    const seen: string[] = [];
    const events = { onGiveUp: () => seen.push('give-up') };
    const failing = async () => {
      throw new Error('no');
    };
    for (let i = 0; i < 2; i++) {
      // Same values but for idempotent, events and the presence of a deadline: none may share a plan.
      await assert.rejects(execute(failing, { deadlineMs: 888 }), /no/);
      await assert.rejects(execute(failing, { deadlineMs: 888, events }), /no/);
      await assert.rejects(execute(failing, { deadlineMs: 888, idempotent: true, events }), /no/);
      await assert.rejects(
        execute(failing, { deadlineMs: 888, deadline: 1 }),
        (e: unknown) => e instanceof Error && e.name === 'DeadlineExceededError',
      );
    }
    assert.deepEqual(seen, ['give-up', 'give-up', 'give-up', 'give-up']);
  });

  test('with nested retry and hedge literals: a hoisted executor keeps its hedge latency history', async () => {
    // A hedge history belongs to one compiled policy: executor(options) hoisted (execute() with a new literal
    // per call no longer shares one by value; see executor.test.ts).
    const run = executor({ deadlineMs: 4321, idempotent: true, hedge: { percentile: 0.5 } });
    for (let i = 0; i < 20; i++) assert.equal(await run(op), 1);
    // Twenty latencies known: an attempt slower than their median gets a hedge, and the hedge answers.
    const value = await run((attempt) =>
      attempt.number === 1 ? new Promise<never>(() => {}) : Promise.resolve(2),
    );
    assert.equal(value, 2);

    let attempts = 0;
    const failing = async () => {
      attempts++;
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    };
    for (const maxAttempts of [2, 1, 2]) {
      attempts = 0;
      await assert.rejects(execute(failing, { deadlineMs: 4321, retry: { maxAttempts, baseDelayMs: 1 } }));
      assert.equal(attempts, maxAttempts, 'each retry literal gets the plan of its own values');
    }
    assert.match(
      (await rejection({ deadlineMs: 4321, retry: { maxAttempts: 0, baseDelayMs: 1 } })).message,
      /"maxAttempts"/,
    );
  });
});
