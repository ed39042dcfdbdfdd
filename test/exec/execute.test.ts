import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import {
  type Attempt,
  type Classification,
  DeadlineExceededError,
  ExecAbortedError,
  execute,
  type GiveUpEvent,
} from '../../src/index.js';
import { rejectionOf } from './observe.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('execute() semantics that need no server', () => {
  test('an operation that never settles and ignores its signal still ends by the deadline', {
    timeout: 10_000,
  }, async () => {
    let signal: AbortSignal | undefined;
    const error = await rejectionOf(
      execute(
        (attempt) => {
          signal = attempt.signal;
          return new Promise<never>(() => {});
        },
        { deadlineMs: 50 },
      ),
    );
    assert.ok(error instanceof DeadlineExceededError);
    assert.equal(signal?.aborted, true);
  });

  test('an operation that never reads its signal and never settles still ends by the deadline', {
    timeout: 10_000,
  }, async () => {
    const error = await rejectionOf(execute(() => new Promise<never>(() => {}), { deadlineMs: 20 }));
    assert.ok(error instanceof DeadlineExceededError);
  });

  test('the signal is made on first read: read after the deadline, it is already aborted with the reason', {
    timeout: 10_000,
  }, async () => {
    let attempt: Attempt | undefined;
    const error = await rejectionOf(
      execute(
        (a) => {
          attempt = a;
          return new Promise<never>(() => {});
        },
        { deadlineMs: 20 },
      ),
    );
    assert.ok(error instanceof DeadlineExceededError);
    const signal = attempt?.signal;
    assert.equal(signal?.aborted, true);
    assert.equal(signal?.reason, error);
    assert.equal(attempt?.signal, signal, 'the same signal on every read');
  });

  test("a signal read while the attempt runs aborts when the deadline fires, with the call's error", {
    timeout: 10_000,
  }, async () => {
    let signal: AbortSignal | undefined;
    let abortedWith: unknown;
    const error = await rejectionOf(
      execute(
        (attempt) => {
          signal = attempt.signal;
          assert.equal(signal.aborted, false);
          signal.addEventListener('abort', () => {
            abortedWith = signal?.reason;
          });
          return new Promise<never>(() => {});
        },
        { deadlineMs: 20 },
      ),
    );
    assert.ok(error instanceof DeadlineExceededError);
    assert.equal(abortedWith, error);
  });

  test('a signal read after success is not aborted', async () => {
    let attempt: Attempt | undefined;
    const value = await execute(async (a) => {
      attempt = a;
      return 7;
    });
    assert.equal(value, 7);
    assert.equal(attempt?.signal.aborted, false);
  });

  test("the caller's signal aborts the call and the attempt", { timeout: 10_000 }, async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const pending = execute(
      (attempt) => {
        signal = attempt.signal;
        return new Promise<never>(() => {});
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('user left'));
    const error = await rejectionOf(pending);
    assert.ok(error instanceof ExecAbortedError);
    assert.equal((error.cause as Error).message, 'user left');
    assert.equal(signal?.aborted, true);
  });

  test('after maxAttempts the last error is returned as it is; events arrive on an EventEmitter', async () => {
    const emitter = new EventEmitter();
    const seen: string[] = [];
    for (const name of ['attempt', 'retry', 'give-up']) emitter.on(name, () => seen.push(name));
    let gaveUp: GiveUpEvent | undefined;
    emitter.on('give-up', (e: GiveUpEvent) => {
      gaveUp = e;
    });
    const last = refused();
    let n = 0;
    const error = await rejectionOf(
      execute(
        async () => {
          n++;
          throw n === 3 ? last : refused();
        },
        { retry: { maxAttempts: 3, baseDelayMs: 1 }, events: emitter },
      ),
    );
    assert.equal(error, last);
    assert.deepEqual(seen, ['attempt', 'retry', 'attempt', 'retry', 'attempt', 'give-up']);
    assert.equal(gaveUp?.reason, 'max-attempts');
  });

  test('an EventEmitter is sent only the events it has listeners for', async () => {
    const sent: string[] = [];
    class Recording extends EventEmitter {
      override emit(name: string, ...args: unknown[]): boolean {
        sent.push(name);
        return super.emit(name, ...args);
      }
    }
    const emitter = new Recording();
    let gaveUp: GiveUpEvent | undefined;
    emitter.on('give-up', (e: GiveUpEvent) => {
      gaveUp = e;
    });
    const error = refused();
    const outcome = await rejectionOf(
      execute(
        async () => {
          throw error;
        },
        { retry: { maxAttempts: 2, baseDelayMs: 1 }, events: emitter },
      ),
    );
    assert.equal(outcome, error);
    assert.deepEqual(sent, ['give-up']);
    assert.equal(gaveUp?.reason, 'max-attempts');
  });

  test('a server answer that is not transient is never retried; a synchronous throw is an attempt', async () => {
    let attempts = 0;
    const error = await rejectionOf(
      execute(() => {
        attempts++;
        throw new Error('syntax error at or near "selec"');
      }),
    );
    assert.match((error as Error).message, /syntax error/);
    assert.equal(attempts, 1);
  });

  test('a Retry-After beyond the deadline gives up at once with DeadlineExceededError', async () => {
    const busy: Classification = { kind: 'rejected', transient: true, retryAfterMs: 60_000 };
    let attempts = 0;
    const error = await rejectionOf(
      execute(
        async () => {
          attempts++;
          throw new Error('503');
        },
        { deadlineMs: 5000, classify: () => busy },
      ),
    );
    assert.ok(error instanceof DeadlineExceededError);
    assert.match(error.message, /before the next retry could run/);
    assert.equal(attempts, 1);
  });
});
