import { LifelineError } from '../errors.js';
import { formatStats, type PoolStats } from './stats.js';

/**
 * No resource became available within the acquire timeout. The message carries the pool's state at that
 * moment, e.g. `(total=10, busy=10, idle=0, waiting=5, pendingCreates=2, lastCreateError=…)`, so the log
 * line alone tells exhaustion (busy=max) from an unreachable server (total=0, lastCreateError set);
 * `cause` is the last create error, if any.
 */
export class AcquireTimeoutError extends LifelineError {
  readonly stats: PoolStats;

  constructor(timeoutMs: number, stats: PoolStats) {
    super(
      'LIFELINE_ACQUIRE_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for a pool resource ${formatStats(stats)}`,
      stats.lastCreateError === undefined ? undefined : { cause: stats.lastCreateError },
    );
    this.stats = stats;
  }
}

/** The acquire's AbortSignal fired before a resource was handed out; `cause` is `signal.reason`. */
export class AbortError extends LifelineError {
  constructor(reason: unknown) {
    super('LIFELINE_ABORTED', 'The acquire was aborted', { cause: reason });
  }
}

/** `drain()` has started: no new acquires, and waiting ones are rejected. */
export class PoolDrainingError extends LifelineError {
  constructor() {
    super('LIFELINE_POOL_DRAINING', 'The pool is draining and hands out no more resources');
  }
}

/** The pool has been drained and closed. */
export class PoolClosedError extends LifelineError {
  constructor() {
    super('LIFELINE_POOL_CLOSED', 'The pool is closed');
  }
}

/** `release()` was given something that is not currently lent out by this pool (e.g. released twice). */
export class InvalidReleaseError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_INVALID_RELEASE',
      'release() was called with a resource this pool has not lent out (released twice, or from another pool)',
    );
  }
}

/** `factory.create()` did not settle within `createTimeoutMs`; passed as the reason of its AbortSignal. */
export class CreateTimeoutError extends LifelineError {
  constructor(timeoutMs: number) {
    super('LIFELINE_CREATE_TIMEOUT', `Creating a pool resource took longer than ${timeoutMs} ms`);
  }
}

/** `factory.ping()` did not settle within `pingTimeoutMs`; passed as the reason of its AbortSignal. */
export class PingTimeoutError extends LifelineError {
  constructor(timeoutMs: number) {
    super('LIFELINE_PING_TIMEOUT', `Pinging a pool resource took longer than ${timeoutMs} ms`);
  }
}
