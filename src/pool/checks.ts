// Checking: the one dead-check every path goes through ("retire if unusable": at handout, on release, in
// housekeeping and after a check's event-loop turn; dead-at-birth reads the same contained alive()), deaths
// reported once, and the pre-handout check (one event-loop turn so pending FIN/RST events land, then a ping)
// that is also the idle keepalive.
import { timerMs } from '../core/time.js';
import { poolNow } from './clock.js';
import type { PoolCore } from './core.js';
import { type Entry, EntryState } from './entry.js';
import { FactoryCallbackError, PingTimeoutError } from './errors.js';
import type { EvictReason } from './stats.js';
import { type Waiter, WaiterState } from './waiter.js';

const { Idle, Checking, Destroyed } = EntryState;

// Runs on the event-loop turn after a check starts; module-level so scheduling it allocates no closure.
function afterTurn<T>(checker: Checker<T>, entry: Entry<T>): void {
  checker.afterTurn(entry);
}

export class Checker<T> {
  constructor(private readonly core: PoolCore<T>) {}

  /**
   * `factory.alive()`, contained: undefined while alive, null when it says dead, a FactoryCallbackError when
   * it throws.
   */
  aliveError(entry: Entry<T>): FactoryCallbackError | null | undefined {
    try {
      return this.core.factory.alive(entry.resource) ? undefined : null;
    } catch (error) {
      return new FactoryCallbackError('alive', error);
    }
  }

  /**
   * The dead-check: why `entry` must not be lent ('dead': onDeath fired, alive() false or alive() threw;
   * 'lifetime': past its jittered lifetime), or undefined when it is usable. A death found here is reported
   * ('death' once; a throwing alive() also on 'error'). Small on purpose: it runs twice per acquire+release
   * and must inline into the hot path.
   */
  unusable(entry: Entry<T>, now: number): 'dead' | 'lifetime' | undefined {
    if (entry.diedAt >= 0) return 'dead';
    const error = this.aliveError(entry);
    if (error === undefined) return now < entry.expiresAt ? undefined : 'lifetime';
    this.reportDead(entry, error);
    return 'dead';
  }

  private reportDead(entry: Entry<T>, error: FactoryCallbackError | null): void {
    this.reportDeath(entry, error ?? undefined);
    if (error !== null) this.core.emitError(error);
  }

  /** The one "retire if unusable" path: destroys `entry` and returns true when {@link unusable} says so. */
  retireIfUnusable(entry: Entry<T>, now: number): boolean {
    const reason = this.unusable(entry, now);
    if (reason === undefined) return false;
    this.core.destroy(entry, reason);
    return true;
  }

  /** Records a death once ('death' event); the entry is destroyed by whoever holds it next. */
  reportDeath(entry: Entry<T>, error: Error | undefined): void {
    if (entry.diedAt >= 0) return;
    entry.diedAt = poolNow();
    entry.diedWith = error;
    this.core.events.emit('death', entry.resource, error);
  }

  /** The factory's onDeath callback fired for `entry`. */
  onResourceDeath(entry: Entry<T>, error: Error | undefined): void {
    if (entry.state === Destroyed) return;
    this.reportDeath(entry, error);
    // Busy: the holder learns from its own I/O and release() destroys it; Checking: the check sees diedAt.
    if (entry.state === Idle) this.core.destroy(entry, 'dead');
  }

  /** Takes an entry out for a check; `waiter` is who gets it if it passes (none for a keepalive). */
  start(entry: Entry<T>, waiter: Waiter<T> | undefined): void {
    entry.move(Checking);
    entry.waiter = waiter;
    if (waiter !== undefined) waiter.reserve();
    setImmediate(afterTurn, this, entry);
  }

  /** @internal The event-loop turn of a check has passed: pending FIN/RST events have landed by now. */
  afterTurn(entry: Entry<T>): void {
    if (entry.state !== Checking) return;
    const reason = this.unusable(entry, poolNow());
    if (reason !== undefined) {
      this.finish(entry, reason);
      return;
    }
    const ping = this.core.factory.ping;
    if (ping === undefined) {
      this.finish(entry, undefined);
      return;
    }
    const timeoutMs = this.core.options.pingTimeoutMs;
    const controller = new AbortController();
    // The caller's deadline may come before the ping's: the caller then gets its timeout on time, and the
    // ping goes on to decide whether the resource stays (a slow answer is not a dead resource).
    const waiter = entry.waiter;
    const left = waiter === undefined ? Number.POSITIVE_INFINITY : waiter.deadline - poolNow();
    const deadlineTimer =
      left < timeoutMs
        ? setTimeout(
            () => {
              if (waiter?.state === WaiterState.Reserved) this.core.waiters.timedOut(waiter);
            },
            timerMs(Math.max(0, left)),
          )
        : undefined;
    let done = false;
    const finish = (error: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadlineTimer);
      // A failed ping is an eviction ('evict' with 'ping-failed'), not a pool error.
      this.finish(entry, error === undefined ? undefined : 'ping-failed');
    };
    const timer = setTimeout(() => {
      const error = new PingTimeoutError(timeoutMs);
      controller.abort(error);
      finish(error);
    }, timerMs(timeoutMs)).unref();
    try {
      ping.call(this.core.factory, entry.resource, controller.signal).then(
        () => finish(undefined),
        (error: unknown) => finish(error ?? new Error('ping failed')),
      );
    } catch (error) {
      finish(error ?? new Error('ping failed'));
    }
  }

  private finish(entry: Entry<T>, failure: EvictReason | undefined): void {
    const core = this.core;
    const waiter = entry.waiter;
    entry.waiter = undefined;
    const waiting = waiter !== undefined && waiter.state === WaiterState.Reserved;
    if (entry.state !== Checking) {
      // Destroyed meanwhile by a drain timeout; the waiter was rejected then.
      return;
    }
    if (failure !== undefined) {
      core.destroy(entry, failure);
      // Back to the head of the queue: the caller never sees the failed resource and keeps its place.
      if (waiting && core.state === 'open') core.waiters.requeueFront(waiter);
      core.dispatch();
      return;
    }
    if (core.state !== 'open') {
      core.destroy(entry, 'drain');
      return;
    }
    const now = poolNow();
    entry.verifiedAt = now;
    if (waiting) {
      if (now < waiter.deadline) {
        core.lendTo(entry, waiter, now);
        return;
      }
      core.waiters.timedOut(waiter);
    }
    entry.move(Idle);
    core.idle.push(entry);
    core.dispatch();
  }
}
