import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { markLost } from '../core/lost.js';

/**
 * The request was written and the connection died before a reply, so the server may or may not have
 * applied it. Not retried because the operation was not declared idempotent: running it again could apply
 * it twice.
 */
export class OutcomeUnknownError extends LifelineError {
  constructor(attempts: number, cause: unknown) {
    super(
      'LIFELINE_OUTCOME_UNKNOWN',
      `the request was sent and the connection was lost before a reply (attempt ${attempts}); it may or may not ` +
        'have been applied; it was not retried because the operation is not declared idempotent. Check whether ' +
        'it took effect before repeating it, or make it idempotent (e.g. an upsert keyed by a request id) and ' +
        'pass { idempotent: true }',
      { cause },
    );
  }
}
brand(OutcomeUnknownError, 'OutcomeUnknownError');
markLost(OutcomeUnknownError.prototype, 'sent');

/** The operation's deadline passed before it succeeded; the attempt in flight, if any, was aborted. */
export class DeadlineExceededError extends LifelineError {
  constructor(
    readonly deadlineMs: number,
    readonly attempts: number,
    cause?: unknown,
    why = 'before it succeeded',
  ) {
    super(
      'LIFELINE_DEADLINE_EXCEEDED',
      `the operation's deadline of ${deadlineMs} ms passed ${why} (${attempts} attempt${attempts === 1 ? '' : 's'}); ` +
        'the attempt in flight was aborted. Raise deadlineMs if the operation is legitimately slow, or look at ' +
        "the cause and the server's health",
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(DeadlineExceededError, 'DeadlineExceededError');

/** A retry was due but the retry budget had no tokens: the dependency is failing more than it succeeds. */
export class RetryBudgetExhaustedError extends LifelineError {
  constructor(attempts: number, cause: unknown) {
    super(
      'LIFELINE_RETRY_BUDGET_EXHAUSTED',
      `the retry budget is exhausted, so the operation failed after ${attempts} attempt${attempts === 1 ? '' : 's'} ` +
        'without retrying: too many recent requests to this dependency needed retries. Look at the cause (the ' +
        'last attempt’s error) and the dependency’s health; retries resume as requests succeed again',
      { cause },
    );
  }
}
brand(RetryBudgetExhaustedError, 'RetryBudgetExhaustedError');

/** The circuit breaker is open (or its half-open probes are taken): the call was not attempted. */
export class CircuitOpenError extends LifelineError {
  constructor(
    readonly target: string,
    readonly retryAfterMs: number,
    cause?: unknown,
  ) {
    super(
      'LIFELINE_CIRCUIT_OPEN',
      `the circuit breaker for ${target} is open after repeated failures, so the call was not attempted; ` +
        `retry after about ${Math.max(0, Math.round(retryAfterMs))} ms, when it lets a probe through`,
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(CircuitOpenError, 'CircuitOpenError');

/** No host of the required role is healthy (all breakers open, or none has the role). */
export class NoHealthyHostError extends LifelineError {
  constructor(
    readonly route: 'read' | 'write',
    summary: string,
    cause?: unknown,
  ) {
    super(
      'LIFELINE_NO_HEALTHY_HOST',
      `no healthy host can take a ${route} (${summary}); the call was not attempted on a host known to be ` +
        'failing; retry once a host recovers and passes its probes',
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(NoHealthyHostError, 'NoHealthyHostError');

/**
 * The caller's AbortSignal fired: the call rejects with this and the attempt in flight is aborted. Also the
 * abort reason an attempt's signal gets when it is no longer needed (another attempt of a hedge won).
 */
export class ExecAbortedError extends LifelineError {
  constructor(
    cause: unknown,
    message = 'the operation was aborted by the caller’s signal and no further attempts were made; run it again if it is still needed',
  ) {
    super('LIFELINE_EXEC_ABORTED', message, cause === undefined ? undefined : { cause });
  }
}
brand(ExecAbortedError, 'ExecAbortedError');

/**
 * One attempt ran past `attemptTimeoutMs` and was aborted. It counts as a failed attempt: retried when the
 * request was not sent, or when it was and the operation is idempotent; otherwise it is the cause of
 * OutcomeUnknownError.
 */
export class AttemptTimeoutError extends LifelineError {
  constructor(
    readonly attemptTimeoutMs: number,
    readonly attempt: number,
    readonly sent: boolean,
  ) {
    super(
      'LIFELINE_ATTEMPT_TIMEOUT',
      `attempt ${attempt} ran past its attemptTimeoutMs of ${attemptTimeoutMs} ms and was aborted ` +
        `(${sent ? 'its request had been sent' : 'its request had not been sent'}). Raise attemptTimeoutMs if ` +
        "single attempts are legitimately this slow, or look at the server's health",
    );
  }
}
brand(AttemptTimeoutError, 'AttemptTimeoutError');
