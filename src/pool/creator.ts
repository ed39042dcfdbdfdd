// Creation: starts creates while waiters outnumber them or the pool is below min, at most createConcurrency
// at once, spaced by full-jitter backoff while they fail (the server refusing); adopts created resources,
// and counts one created dead (onDeath fired during registration, or alive() false) as a failed create.

import { fullJitterMs } from '../core/backoff.js';
import { timerMs } from '../core/time.js';
import { poolNow, poolPreciseNow } from './clock.js';
import type { PoolCore } from './core.js';
import { type Entry, EntryState } from './entry.js';
import { CreatedDeadError, CreateTimeoutError, FactoryCallbackError } from './errors.js';
import { toError } from './events.js';
import { jitteredLifetimeMs } from './jitter.js';

const { Idle, Destroyed } = EntryState;

/** One create in flight; `abandon` aborts it and frees its slot at once, even if create ignores the signal. */
interface PendingCreate {
  abandon(reason: Error): void;
}

export class Creator<T> {
  /** Creates in flight. */
  pending = 0;
  private readonly inFlight = new Set<PendingCreate>();
  created = 0;
  errors = 0;
  failuresInARow = 0;
  lastError: Error | undefined;
  private notBefore = 0;
  private backoffTimer: NodeJS.Timeout | undefined;

  constructor(private readonly core: PoolCore<T>) {}

  /** Starts the creates needed now, within max, concurrency and backoff. */
  pump(): void {
    const core = this.core;
    const o = core.options;
    while (core.state === 'open' && this.pending < o.createConcurrency) {
      const total = core.entries.size + this.pending;
      if (total >= o.max) return;
      if (core.waiters.length <= this.pending && total >= o.min) return;
      const wait = this.notBefore - poolNow();
      if (wait > 0) {
        if (this.backoffTimer === undefined) {
          this.backoffTimer = setTimeout(() => {
            this.backoffTimer = undefined;
            this.pump();
          }, timerMs(wait)).unref();
        }
        return;
      }
      this.start();
    }
  }

  /** Aborts every create in flight (drain). */
  abandonAll(reason: Error): void {
    for (const create of [...this.inFlight]) create.abandon(reason);
  }

  /** Stops the backoff timer (drain). */
  close(): void {
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
  }

  private start(): void {
    this.pending++;
    const controller = new AbortController();
    let settled = false;
    const timeoutMs = this.core.options.createTimeoutMs;
    const startedAt = this.core.observer === undefined ? -1 : poolPreciseNow();
    const timer = setTimeout(() => {
      const error = new CreateTimeoutError(timeoutMs);
      controller.abort(error);
      onFailed(error);
    }, timerMs(timeoutMs)).unref();
    const onCreated = (resource: T): void => {
      if (settled) {
        // It timed out or the pool drained: nobody is owed this resource.
        this.core.destroyResource(resource);
        return;
      }
      settled = true;
      clearTimeout(timer);
      this.inFlight.delete(pending);
      this.pending--;
      const observer = this.core.observer;
      if (observer !== undefined && startedAt >= 0) observer.created(poolPreciseNow() - startedAt);
      this.adopt(resource);
    };
    const onFailed = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inFlight.delete(pending);
      this.pending--;
      this.failed(error, true);
    };
    const pending: PendingCreate = {
      abandon: (reason: Error): void => {
        controller.abort(reason);
        onFailed(reason);
      },
    };
    this.inFlight.add(pending);
    try {
      this.core.factory.create(controller.signal).then(onCreated, onFailed);
    } catch (error) {
      onFailed(error);
    }
  }

  private adopt(resource: T): void {
    const core = this.core;
    if (core.state !== 'open') {
      core.destroyResource(resource);
      core.finishDrainIfDone();
      return;
    }
    const now = poolPreciseNow();
    const o = core.options;
    const lifetime =
      o.maxLifetimeMs === Number.POSITIVE_INFINITY
        ? o.maxLifetimeMs
        : jitteredLifetimeMs(o.maxLifetimeMs, o.lifetimeJitter);
    // Checking while it is adopted: a death reported during onDeath's registration is only recorded.
    const entry = core.register(resource, now, now + lifetime);
    if (this.bornDead(entry, now)) return;
    this.failuresInARow = 0;
    this.notBefore = 0;
    this.created++;
    entry.move(Idle);
    core.events.emit('create', resource);
    if (entry.state === Destroyed) return; // died inside a create listener
    if (core.state !== 'open') {
      core.destroy(entry, 'drain');
      return;
    }
    const waiter = core.waiters.shift();
    if (waiter !== undefined) core.lendTo(entry, waiter, now);
    else core.idle.push(entry);
    this.pump();
  }

  /**
   * Registers onDeath and runs the dead-check on a just-created resource. One born dead is a failed create,
   * so creates back off (a factory whose resources are always dead must not spin); returns true then.
   */
  private bornDead(entry: Entry<T>, now: number): boolean {
    const core = this.core;
    const onDeath = core.factory.onDeath;
    if (onDeath !== undefined) {
      try {
        onDeath.call(core.factory, entry.resource, (error) => core.checker.onResourceDeath(entry, error));
      } catch (error) {
        const failure = new FactoryCallbackError('onDeath', error);
        core.checker.reportDeath(entry, failure);
        this.failed(failure, true);
        core.destroy(entry, 'dead');
        return true;
      }
    }
    const diedInRegistration = entry.diedAt >= 0;
    // The same dead-check as every handout; it has reported the death ('death', and 'error' for a throw).
    if (core.checker.unusable(entry, now) === undefined) return false;
    const threw = !diedInRegistration && entry.diedWith instanceof FactoryCallbackError;
    if (threw) this.failed(entry.diedWith, false);
    else this.failed(new CreatedDeadError(entry.diedWith), true);
    core.destroy(entry, 'dead');
    return true;
  }

  /**
   * A create failed (or its resource was born dead): counted, backed off, and reported on 'error' unless
   * `report` is false (the dead-check already did).
   */
  private failed(error: unknown, report: boolean): void {
    const core = this.core;
    if (core.state !== 'open') {
      core.finishDrainIfDone();
      return;
    }
    const err = toError(error);
    this.errors++;
    this.failuresInARow++;
    this.lastError = err;
    const o = core.options;
    this.notBefore =
      poolNow() + fullJitterMs(this.failuresInARow, o.createRetryBaseDelayMs, o.createRetryMaxDelayMs);
    if (report) core.emitError(err);
    this.pump();
  }
}
