// The Pool facade: the public API (acquire, release, use, failWaiting, drain, stats) and the hot path of
// lending an idle resource. The state and the tasks behind it live in core.ts and the files it names.

import { EventEmitter } from 'node:events';
import { brand } from '../core/brand.js';
import { poolAcquireChannel } from '../core/channels.js';
import { guardedEmit } from '../core/events.js';
import { InvalidOptionError } from '../core/options.js';
import { poolNow } from './clock.js';
import { PoolCore } from './core.js';
import { EntryState, resolvedWith } from './entry.js';
import { AbortError, InvalidReleaseError, PoolClosedError, PoolDrainingError } from './errors.js';
import type { AcquireOptions, PoolEvents, ReleaseOptions } from './events.js';
import {
  checkReleaseOptions,
  invalidAcquireOptions,
  invalidDrainOptions,
  type PoolOptions,
  resolvePoolOptions,
} from './options.js';
import type { PoolStats } from './stats.js';

export type { AcquireOptions, LeakReport, PoolEvents, ReleaseOptions } from './events.js';

const { Busy } = EntryState;

/** The payload of the `lifeline:pool:acquire` TracingChannel; tracePromise adds `result` or `error`. */
export interface AcquireTrace {
  /** The Pool (or, through an adapter, the pool underneath it). */
  readonly pool: object;
  /** Idle resources and queued acquires when this one began. */
  readonly idle: number;
  readonly waiting: number;
}

/**
 * A pool of resources that never lends out one it could know is dead. See docs/pool.md.
 *
 * ```ts
 * const pool = new Pool({ factory, max: 10 });
 * const n = await pool.use((conn) => conn.query('select 1'));
 * await pool.drain();
 * ```
 */
export class Pool<T> extends EventEmitter<PoolEvents<T>> {
  private readonly core: PoolCore<T>;

  /** @throws InvalidOptionError when an option is unknown, of the wrong type or out of range. */
  constructor(options: PoolOptions<T>) {
    super();
    this.core = new PoolCore(resolvePoolOptions(options), this);
  }

  /**
   * Lends a resource: an idle one that passed the checks, else a new one, else the first one released,
   * in arrival order. Rejects with AcquireTimeoutError, AbortError, PoolDrainingError or PoolClosedError.
   */
  acquire(options?: AcquireOptions): Promise<T> {
    // `lifeline:pool:acquire` (docs/observe.md): one property read while nobody subscribes.
    if (poolAcquireChannel.hasSubscribers) return this.acquireTraced(options);
    return this.acquireUntraced(options);
  }

  private acquireTraced(options: AcquireOptions | undefined): Promise<T> {
    const s = this.core;
    const context: AcquireTrace = { pool: this, idle: s.idle.length, waiting: s.waiters.length };
    return poolAcquireChannel.tracePromise(() => this.acquireUntraced(options), context);
  }

  private acquireUntraced(options: AcquireOptions | undefined): Promise<T> {
    const core = this.core;
    if (options === undefined && core.state === 'open') {
      const now = poolNow();
      // Hot path: nobody queued, an idle resource that needs no event-loop turn.
      if (core.waiters.length === 0) {
        const entry = core.takeIdle(now);
        if (entry === undefined) return this.queue(now, core.options.acquireTimeoutMs, undefined);
        if (now - entry.verifiedAt < core.options.validateAfterIdleMs) {
          core.lend(entry, now, core.acquireSite());
          return resolvedWith(entry);
        }
        const waiter = core.waiters.create(now, core.options.acquireTimeoutMs, undefined, core.acquireSite());
        core.checker.start(entry, waiter);
        return waiter.promise;
      }
      // The steady state under load: behind others, in arrival order.
      return this.queue(now, core.options.acquireTimeoutMs, undefined);
    }
    return this.acquireSlow(options);
  }

  /** Queues a new waiter; starts a create if the pool may grow. */
  private queue(now: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
    const core = this.core;
    const waiter = core.waiters.create(now, timeoutMs, signal, core.acquireSite());
    core.waiters.push(waiter);
    if (core.entries.size + core.creator.pending < core.options.max) core.creator.pump();
    return waiter.promise;
  }

  private acquireSlow(options: AcquireOptions | undefined): Promise<T> {
    const core = this.core;
    if (core.state !== 'open') {
      return Promise.reject(core.state === 'draining' ? new PoolDrainingError() : new PoolClosedError());
    }
    const invalid = options === undefined ? undefined : invalidAcquireOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) {
      core.waiters.aborts++;
      return Promise.reject(new AbortError(signal.reason));
    }
    const now = poolNow();
    const timeoutMs = options?.timeoutMs ?? core.options.acquireTimeoutMs;
    if (core.waiters.length === 0) {
      const entry = core.takeIdle(now);
      if (entry !== undefined) {
        const waiter = core.waiters.create(now, timeoutMs, signal, core.acquireSite());
        core.serve(entry, waiter, now);
        return waiter.promise;
      }
    }
    return this.queue(now, timeoutMs, signal);
  }

  /**
   * Gives a resource back. It is destroyed instead when `destroy` or `error` is given, when it is dead,
   * past its lifetime, or the pool is draining; otherwise the first waiter gets it at once.
   * @throws InvalidReleaseError when the resource is not currently lent out by this pool; InvalidOptionError
   * when `options` is not `{ destroy?: boolean, error? }` (the resource stays lent out).
   */
  release(resource: T, options?: ReleaseOptions): void {
    if (options !== undefined) checkReleaseOptions(options);
    const core = this.core;
    const entry = core.entryOf(resource);
    if (entry === undefined || entry.state !== Busy) {
      // After a drain timed out and destroyed it, a late release is expected, not a bug.
      if (entry === undefined && core.state !== 'open') return;
      throw new InvalidReleaseError();
    }
    core.released++;
    const now = poolNow();
    if (now !== entry.acquiredAt && core.observer !== undefined) core.observer.used(now - entry.acquiredAt);
    if (core.listening.release) this.emit('release', resource);
    if (options !== undefined && (options.destroy === true || options.error !== undefined)) {
      core.destroy(entry, 'released-destroy');
      return;
    }
    if (core.checker.retireIfUnusable(entry, now)) return;
    if (core.state !== 'open') {
      core.destroy(entry, 'drain');
      return;
    }
    // It was in use a moment ago: verified now, and a waiter gets it at once without an event-loop turn.
    entry.verifiedAt = now;
    entry.idleSince = now;
    core.offer(entry, now);
  }

  /** Acquires, runs `fn`, and releases whatever happens. A resource that died meanwhile is destroyed. */
  async use<R>(fn: (resource: T) => R | Promise<R>, options?: AcquireOptions): Promise<R> {
    if (typeof fn !== 'function') {
      throw new InvalidOptionError('Pool.use', 'fn', 'must be a function (resource) => result', fn, {
        argument: true,
      });
    }
    const resource = await this.acquire(options);
    try {
      return await fn(resource);
    } finally {
      this.release(resource);
    }
  }

  /**
   * Rejects every queued acquire with `error`: for an owner whose creates fail in a way it knows waiting will
   * not fix (wrong password, unknown database, an outage longer than it rides out). Acquires that already hold
   * a resource or one under check are untouched; later acquires queue as usual. Returns how many were rejected.
   */
  failWaiting(error: Error): number {
    if (!(error instanceof Error)) {
      throw new InvalidOptionError('Pool.failWaiting', 'error', 'must be an Error', error, {
        argument: true,
      });
    }
    return this.core.waiters.failAll(error);
  }

  /**
   * Stops lending: rejects waiters with PoolDrainingError, destroys idle resources and pending creates,
   * waits for lent-out resources to come back and destroys them. After `timeoutMs` (default 30 000) the
   * ones still out are destroyed too. Resolves when everything is destroyed; the pool is then closed.
   */
  drain(options?: { timeoutMs?: number }): Promise<void> {
    const invalid = this.core.state === 'open' ? invalidDrainOptions(options) : undefined;
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.core.drain(options?.timeoutMs ?? 30_000);
  }

  /** A snapshot of counts and counters. */
  stats(): PoolStats {
    return this.core.stats();
  }

  /**
   * Whether `resource` (this pool's) is past its lifetime: `maxLifetimeMs` shortened by its own jitter, on
   * the pool's clock. Such a resource is retired when released. For an owner that reports lifetimes (pg's
   * expiredCount) without keeping a clock of its own.
   */
  expired(resource: T): boolean {
    const entry = this.core.entryOf(resource);
    return entry !== undefined && poolNow() >= entry.expiresAt;
  }
}
brand(Pool, 'Pool');
// Listeners under core/events.ts's rule: a throwing one is rethrown on the next tick, never into the pool's state.
Object.defineProperty(Pool.prototype, 'emit', { value: guardedEmit, configurable: true, writable: true });

// emit() builds an arguments array even with no listener, and listenerCount() per operation costs ~7% of an
// acquire+release; so the pool keeps flags of which hot-path events have listeners, refreshed after every
// method that adds or removes one. once() wrappers and removeAllListeners() go through these methods too, so
// the flags cannot go stale (test/pool/events.test.ts).
const MUTATORS = [
  'addListener',
  'on',
  'prependListener',
  'once',
  'prependOnceListener',
  'removeListener',
  'off',
  'removeAllListeners',
] as const;
for (const name of MUTATORS) {
  const original = EventEmitter.prototype[name] as (this: EventEmitter, ...args: unknown[]) => unknown;
  Object.defineProperty(Pool.prototype, name, {
    configurable: true,
    writable: true,
    value: function (this: Pool<unknown>, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      (this as unknown as { core: PoolCore<unknown> }).core.listening.refresh(this);
      return result;
    },
  });
}
