// executor(): options compiled once, per-call deadline/signal, attemptTimeoutMs, and Attempt's own
// deadline (timeLeftMs, onAbort).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { preciseNow } from '../../src/core/time.js';
import {
  type Attempt,
  AttemptTimeoutError,
  classifyPostgres,
  DeadlineExceededError,
  ExecAbortedError,
  execute,
  executor,
  OutcomeUnknownError,
  type RetryEvent,
} from '../../src/index.js';
import { services } from '../support/services.js';
import { promptly, rejectionOf, retriesInto } from './observe.js';
import { sentQuery, withClient } from './pg-op.js';

const op = async () => 1;
const pg = { host: services.postgres.host, port: services.postgres.port };

/** Resolves when the attempt is aborted, with the reason; markSent() is never called. */
const untilAborted = (attempt: Attempt): Promise<never> =>
  new Promise((_, reject) => attempt.onAbort(reject));

describe('executor(options)', () => {
  test('checks its options once, when compiled', async () => {
    assert.throws(
      () => executor({ deadlineMs: 0 }),
      (e: unknown) =>
        e instanceof InvalidOptionError &&
        /executor option "deadlineMs" must be a number in \[1,/.test(e.message),
    );
    assert.throws(() => executor({ attemptTimeoutMs: -1 }), /"attemptTimeoutMs"/);
    assert.throws(() => executor({ hedge: { delayMs: 5 } }), /"hedge" needs idempotent: true/);
    assert.throws(() => executor('fast' as never), /executor argument "options" must be an object/);
    const run = executor({ deadlineMs: 1000 });
    assert.equal(await run(op), 1);
    assert.equal(await run(async (attempt) => attempt.number), 1);
    const notFn = await rejectionOf(run('op' as never));
    assert.ok(notFn instanceof InvalidOptionError && notFn.option === 'op', String(notFn));
    const badCall = await rejectionOf(run(op, { deadline: -1 }));
    assert.ok(badCall instanceof InvalidOptionError && badCall.option === 'deadline', String(badCall));
    const badSignal = await rejectionOf(run(op, { signal: {} as AbortSignal }));
    assert.ok(badSignal instanceof InvalidOptionError && badSignal.option === 'signal', String(badSignal));
  });

  test('a call may bring its own deadlineMs, deadline and signal', async () => {
    const run = executor({ deadlineMs: 60_000 });
    const short = await rejectionOf(run(untilAborted, { deadlineMs: 50 }));
    assert.ok(short instanceof DeadlineExceededError && short.deadlineMs === 50, String(short));
    // Long past on lifeline's clock (epoch-aligned, read coarsely: `Date.now() - 1` can still be ahead of it).
    const past = await rejectionOf(run(op, { deadline: 1 }));
    assert.ok(past instanceof DeadlineExceededError, String(past));
    const controller = new AbortController();
    const pending = run(untilAborted, { signal: controller.signal });
    controller.abort(new Error('caller left'));
    const aborted = await rejectionOf(pending);
    assert.ok(aborted instanceof ExecAbortedError, String(aborted));
  });

  test('each executor learns hedge delays from its own calls only', async () => {
    const options = { deadlineMs: 300, idempotent: true, hedge: { percentile: 0.5 } } as const;
    const learned = executor(options);
    for (let i = 0; i < 20; i++) assert.equal(await learned(op), 1);
    const firstSlow = (attempt: Attempt) =>
      attempt.number === 1 ? untilAborted(attempt) : Promise.resolve(2);
    // Twenty latencies known to this executor: the slow first attempt gets a hedge, which answers.
    assert.equal(await learned(firstSlow), 2);
    // Another executor with equal options has seen nothing, so it sends no hedge; nor does execute() with
    // a new literal, which compiles its own policy each call (before, both shared `learned`'s history).
    const unrelated = await rejectionOf(executor({ ...options, hedge: { percentile: 0.5 } })(firstSlow));
    assert.ok(unrelated instanceof DeadlineExceededError, String(unrelated));
    const literal = await rejectionOf(execute(firstSlow, { ...options, hedge: { percentile: 0.5 } }));
    assert.ok(literal instanceof DeadlineExceededError, String(literal));
  });
});

describe('attemptTimeoutMs', () => {
  test('an attempt that sent nothing in time is aborted and retried, even when not idempotent', async () => {
    const retries: RetryEvent[] = [];
    const reasons: unknown[] = [];
    const value = await execute(
      async (attempt) => {
        if (attempt.number === 2) return 'second';
        attempt.signal.addEventListener('abort', () => reasons.push(attempt.signal.reason));
        return untilAborted(attempt);
      },
      { deadlineMs: 10_000, attemptTimeoutMs: 50, retry: promptly(3), events: retriesInto(retries) },
    );
    assert.equal(value, 'second');
    assert.equal(retries.length, 1);
    const error = retries[0]?.error;
    assert.ok(error instanceof AttemptTimeoutError, String(error));
    assert.equal(error.code, 'LIFELINE_ATTEMPT_TIMEOUT');
    assert.equal(error.sent, false);
    assert.deepEqual(retries[0]?.classification, { kind: 'not-sent' });
    assert.deepEqual(reasons, [error], "the attempt's signal aborts with the timeout");
  });

  test('a statement sent to a real Postgres that outlasts it: retried when idempotent', async () => {
    const deadlines: number[] = [];
    const rows = await execute(
      (attempt) =>
        withClient(attempt, pg, (client) => {
          deadlines.push(attempt.deadline);
          const sql = attempt.number === 1 ? 'select pg_sleep(30), 1 as n' : 'select 2 as n';
          return sentQuery<{ n: number }>(client, attempt, sql);
        }),
      { deadlineMs: 20_000, attemptTimeoutMs: 1500, idempotent: true, classify: classifyPostgres },
    );
    assert.equal(rows.rows[0]?.n, 2);
    assert.equal(deadlines.length, 2);
  });

  test('not idempotent: OutcomeUnknownError, caused by the attempt timeout', async () => {
    let attempts = 0;
    const error = await rejectionOf(
      execute(
        (attempt) =>
          withClient(attempt, pg, (client) => {
            attempts++;
            return sentQuery(client, attempt, 'select pg_sleep(30)');
          }),
        { deadlineMs: 20_000, attemptTimeoutMs: 1500, classify: classifyPostgres },
      ),
    );
    assert.ok(error instanceof OutcomeUnknownError, String(error));
    assert.ok(error.cause instanceof AttemptTimeoutError && error.cause.sent, String(error.cause));
    assert.equal(attempts, 1);
  });
});

describe("an attempt's own deadline", () => {
  test('deadline and timeLeftMs: the attempt timeout when sooner, else the operation deadline', async () => {
    // Deadlines are on lifeline's one clock (core/time.ts), which is epoch-aligned but not Date.now().
    const before = preciseNow();
    const seen = await execute(async (attempt) => [attempt.deadline, attempt.timeLeftMs()], {
      deadlineMs: 10_000,
      attemptTimeoutMs: 2000,
    });
    const [deadline = 0, left = 0] = seen;
    assert.ok(deadline >= before + 2000 - 10 && deadline <= preciseNow() + 2000, `deadline ${deadline}`);
    assert.ok(left > 0 && left <= 2000, `left ${left}`);
    const whole = await execute(async (attempt) => attempt.deadline, {
      deadlineMs: 1000,
      attemptTimeoutMs: 5000,
    });
    assert.ok(whole <= preciseNow() + 1000, 'an attempt timeout past the deadline changes nothing');
  });

  test('onAbort listeners run once with the reason; one added late runs at once; a throwing one is ignored', async () => {
    const calls: string[] = [];
    let attempt: Attempt | undefined;
    const error = await rejectionOf(
      execute(
        (a) => {
          attempt = a;
          a.onAbort(() => {
            throw new Error('listener bug');
          });
          a.onAbort((reason) => calls.push(`first ${(reason as Error).name}`));
          a.onAbort((reason) => calls.push(`second ${(reason as Error).name}`));
          return new Promise<never>(() => {});
        },
        { deadlineMs: 50 },
      ),
    );
    assert.ok(error instanceof DeadlineExceededError, String(error));
    assert.deepEqual(calls, ['first DeadlineExceededError', 'second DeadlineExceededError']);
    attempt?.onAbort((reason) => calls.push(`late ${(reason as Error).name}`));
    assert.equal(calls.at(-1), 'late DeadlineExceededError');
    assert.equal(attempt?.timeLeftMs(), 0);
    assert.throws(() => attempt?.onAbort('log' as never), /"listener" must be a function/);
  });
});
