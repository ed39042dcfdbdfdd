import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { ExecEvents, RetryEvent } from '../../src/index.js';

/** The error `call` rejects with; fails the test, saying `why`, if it resolves. */
export function rejectionOf(call: Promise<unknown>, why = 'expected a rejection'): Promise<unknown> {
  return call.then(
    (value) => assert.fail(`${why}; resolved with ${inspect(value, { depth: 1 })}`),
    (error: unknown) => error,
  );
}

/** execute() events that collect every retry into `events`. */
export function retriesInto(events: RetryEvent[]): ExecEvents {
  return { onRetry: (event) => events.push(event) };
}

/** Retry options for a test that wants retries at once: up to `maxAttempts`, 1 ms apart at most. */
export function promptly(maxAttempts: number) {
  return { maxAttempts, baseDelayMs: 1, maxDelayMs: 1 };
}
