// Pool's errors: acquire and create timeouts, draining and closed pools, misused releases, failing factories.
import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { markLost } from '../core/lost.js';
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
      `timed out after ${timeoutMs} ms waiting for a pool resource ${formatStats(stats)}; check the state: ` +
        'busy=max means too few resources (raise max, release sooner), total=0 with lastCreateError means the ' +
        'server is unreachable (the cause is that error); raise acquireTimeoutMs only if waiting longer is fine',
      stats.lastCreateError === undefined ? undefined : { cause: stats.lastCreateError },
    );
    this.stats = stats;
  }
}
brand(AcquireTimeoutError, 'AcquireTimeoutError');
markLost(AcquireTimeoutError.prototype, 'not-sent');

/** The acquire's AbortSignal fired before a resource was handed out; `cause` is `signal.reason`. */
export class AbortError extends LifelineError {
  constructor(reason: unknown) {
    super(
      'LIFELINE_ABORTED',
      "the acquire was aborted by its signal before a resource was lent (the cause is the signal's reason); " +
        'acquire again if the resource is still needed',
      { cause: reason },
    );
  }
}
brand(AbortError, 'AbortError');

/** `drain()` has started: no new acquires, and waiting ones are rejected. */
export class PoolDrainingError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_POOL_DRAINING',
      'the pool is draining and lends no more resources; stop acquiring once drain() is called, or use a new pool',
    );
  }
}
brand(PoolDrainingError, 'PoolDrainingError');

/** The pool has been drained and closed. */
export class PoolClosedError extends LifelineError {
  constructor() {
    super('LIFELINE_POOL_CLOSED', 'the pool is closed (drained); create a new pool to acquire again');
  }
}
brand(PoolClosedError, 'PoolClosedError');

/** `release()` was given something that is not currently lent out by this pool (e.g. released twice). */
export class InvalidReleaseError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_INVALID_RELEASE',
      'release() was called with a resource this pool has not lent out (released twice, or from another pool); ' +
        'release each acquired resource once, to the pool it came from',
    );
  }
}
brand(InvalidReleaseError, 'InvalidReleaseError');

/** `factory.create()` did not settle within `createTimeoutMs`; passed as the reason of its AbortSignal. */
export class CreateTimeoutError extends LifelineError {
  constructor(timeoutMs: number) {
    super(
      'LIFELINE_CREATE_TIMEOUT',
      `creating a pool resource took longer than ${timeoutMs} ms (createTimeoutMs), so it was abandoned; check ` +
        'that the server accepts connections, or raise createTimeoutMs if it is only slow',
    );
  }
}
brand(CreateTimeoutError, 'CreateTimeoutError');

/** `factory.ping()` did not settle within `pingTimeoutMs`; passed as the reason of its AbortSignal. */
export class PingTimeoutError extends LifelineError {
  constructor(timeoutMs: number) {
    super(
      'LIFELINE_PING_TIMEOUT',
      `pinging a pool resource took longer than ${timeoutMs} ms (pingTimeoutMs), so it was retired; raise ` +
        'pingTimeoutMs if the server is only slow',
    );
  }
}
brand(PingTimeoutError, 'PingTimeoutError');

/**
 * A factory callback that must not throw (`alive`, `onDeath`) threw. The pool treated the resource as dead:
 * it was destroyed and its slot freed. Reported through the `death` and `error` events; `cause` is what the
 * callback threw.
 */
export class FactoryCallbackError extends LifelineError {
  readonly callback: 'alive' | 'onDeath';

  constructor(callback: 'alive' | 'onDeath', cause: unknown) {
    super(
      'LIFELINE_FACTORY_CALLBACK_FAILED',
      `factory.${callback}() threw, so the pool treated the resource as dead and destroyed it; fix the ` +
        'callback so it does not throw (the cause is what it threw)',
      { cause },
    );
    this.callback = callback;
  }
}
brand(FactoryCallbackError, 'FactoryCallbackError');

/**
 * `factory.create()` resolved with a resource that was already dead: `alive()` said false, or `onDeath`
 * fired while it was being registered. Counted as a failed create, so creates back off instead of
 * spinning; `cause` is the death's error, if any.
 */
export class CreatedDeadError extends LifelineError {
  constructor(cause: unknown) {
    super(
      'LIFELINE_CREATED_DEAD',
      'factory.create() resolved with a resource that was already dead (alive() false or onDeath fired at ' +
        'once); the create counts as failed and is retried with backoff. Check that create() resolves only ' +
        'once the resource is usable',
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(CreatedDeadError, 'CreatedDeadError');
