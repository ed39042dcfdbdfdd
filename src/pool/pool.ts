// Past 400 lines on purpose, for now: lending, checks, deadlines, creating, removal and housekeeping all move
// the same entries between the same private structures (the idle deque, the waiter queue, the entry map), and
// the hot path (acquire + release of an idle resource) relies on reading those fields directly. Splitting
// them by task (HikariCP-style creator / housekeeper objects) needs an internal interface over that state
// first; the sections below are where the cuts would go.
import { EventEmitter } from 'node:events';
import { InvalidOptionError, timerMs } from '../core/options.js';
import { coarseNow, preciseNow } from './clock.js';
import { Entry, EntryState } from './entry.js';
import {
  AbortError,
  AcquireTimeoutError,
  CreatedDeadError,
  CreateTimeoutError,
  FactoryCallbackError,
  InvalidReleaseError,
  PingTimeoutError,
  PoolClosedError,
  PoolDrainingError,
} from './errors.js';
import { createBackoffMs, jitteredLifetimeMs } from './jitter.js';
import {
  checkReleaseOptions,
  type Factory,
  invalidAcquireOptions,
  invalidDrainOptions,
  type PoolOptions,
  type ResolvedPoolOptions,
  resolvePoolOptions,
} from './options.js';
import { Deque } from './queue.js';
import { type EvictReason, emptyEvictCounts, type PoolStats } from './stats.js';
import { Waiter, type WaiterOwner, WaiterState } from './waiter.js';

const { Idle, Checking, Busy, Destroyed } = EntryState;

/** Per-call options of {@link Pool.acquire}. */
export interface AcquireOptions {
  /** Aborting rejects the acquire with AbortError (cause = `signal.reason`) unless already handed out. */
  signal?: AbortSignal;
  /** Overrides the pool's `acquireTimeoutMs` for this call. */
  timeoutMs?: number;
}

/** Per-call options of {@link Pool.release}. */
export interface ReleaseOptions {
  /** Destroy instead of returning to the pool. */
  destroy?: boolean;
  /** The error the caller saw on this resource (any value); its presence destroys the resource. */
  error?: unknown;
}

/** Payload of the `leak` event. */
export interface LeakReport<T> {
  resource: T;
  /** How long it has been lent out, in ms. */
  heldMs: number;
  /** Stack of the `acquire()` call that took it. */
  stack: string;
}

/** Events of {@link Pool}, with their listener arguments. */
export type PoolEvents<T> = {
  /** A new resource was created. */
  create: [resource: T];
  /** A resource was handed to a caller. */
  acquire: [resource: T];
  /** A caller gave a resource back (before the pool decides to keep or destroy it). */
  release: [resource: T];
  /** A resource was found dead (onDeath, or alive() false); once per resource. */
  death: [resource: T, error: Error | undefined];
  /** The pool destroyed a resource, and why. */
  evict: [resource: T, reason: EvictReason];
  /** A resource has been lent out longer than `leakDetectionMs`; once per acquire. */
  leak: [report: LeakReport<T>];
  /**
   * A background failure: a create or a destroy that failed, a resource created dead (CreatedDeadError), or
   * a factory callback that threw (FactoryCallbackError). Emitted only while someone listens, so an
   * unobserved failing database cannot crash the process through an unhandled 'error' event.
   */
  error: [error: Error];
};

// release() must find a resource's entry. A Map lookup is ~15% of an acquire+release, so object
// resources also carry their entry under this private, non-enumerable symbol (pg-pool likewise writes
// its bookkeeping onto clients). Primitives and frozen objects fall back to the Map.
const ENTRY: unique symbol = Symbol('lifeline.pool.entry');
type Tagged<T> = { [ENTRY]?: Entry<T> | undefined };

function tag<T>(resource: T, entry: Entry<T> | undefined): void {
  if (typeof resource !== 'object' || resource === null) return;
  if (Object.hasOwn(resource, ENTRY)) (resource as Tagged<T>)[ENTRY] = entry;
  else if (entry !== undefined && Object.isExtensible(resource)) {
    Object.defineProperty(resource, ENTRY, {
      value: entry,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

// Durations may be Infinity or beyond what a Node timer holds: timerMs caps such a wait at ~24.8 days. The
// deadline timer re-arms for what is left, so it stays exact.

// Runs on every event-loop turn a check is waiting for; module-level so scheduling it allocates no closure.
function afterTurn<T>(pool: Pool<T>, entry: Entry<T>): void {
  pool.afterTurn(entry);
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
export class Pool<T> extends EventEmitter<PoolEvents<T>> implements WaiterOwner<T> {
  private readonly options: ResolvedPoolOptions<T>;
  private readonly factory: Factory<T>;
  private readonly entries = new Map<T, Entry<T>>();
  private readonly idle: Deque<Entry<T>>;
  private readonly waiters = new Deque<Waiter<T>>();
  private readonly lifo: boolean;
  private readonly leakDetection: boolean;
  private state: 'open' | 'draining' | 'closed' = 'open';
  private pendingCreates = 0;
  /** Creates in flight; `abandon` aborts one and frees its slot at once, even if create ignores the signal. */
  private readonly creates = new Set<{ abandon(reason: Error): void }>();
  private createFailuresInARow = 0;
  private lastCreateError: Error | undefined;
  private createNotBefore = 0;
  private backoffTimer: NodeJS.Timeout | undefined;

  // One timer for all waiters' deadlines, armed at the earliest; a waiter costs no timer of its own.
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private readonly onDeadline = (): void => this.expireWaiters();

  private readonly housekeepingTimer: NodeJS.Timeout;
  private destroying = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  private acquired = 0;
  private released = 0;
  private created = 0;
  private createErrors = 0;
  private acquireTimeouts = 0;
  private acquireAborts = 0;
  private leaks = 0;
  private readonly evicted = emptyEvictCounts();

  /** @throws InvalidOptionError when an option is unknown, of the wrong type or out of range. */
  constructor(options: PoolOptions<T>) {
    super();
    this.options = resolvePoolOptions(options);
    this.factory = this.options.factory;
    // Grows with use: nothing is sized by max up front.
    this.idle = new Deque();
    this.lifo = this.options.idleOrder === 'lifo';
    this.leakDetection = this.options.leakDetectionMs !== Number.POSITIVE_INFINITY;
    const o = this.options;
    const finest = Math.min(o.idleTimeoutMs, o.keepaliveIntervalMs, o.leakDetectionMs, o.maxLifetimeMs);
    const housekeepingMs = Math.min(1000, Math.max(10, finest / 4));
    this.housekeepingTimer = setInterval(() => this.housekeep(), housekeepingMs).unref();
    this.pumpCreates();
  }

  /**
   * Lends a resource: an idle one that passed the checks, else a new one, else the first one released,
   * in arrival order. Rejects with AcquireTimeoutError, AbortError, PoolDrainingError or PoolClosedError.
   */
  acquire(options?: AcquireOptions): Promise<T> {
    // Hot path: no options, nobody queued, an idle resource that needs no event-loop turn.
    if (options === undefined && this.waiters.length === 0 && this.state === 'open') {
      const now = coarseNow();
      const entry = this.takeIdle(now);
      if (entry !== undefined && now - entry.verifiedAt < this.options.validateAfterIdleMs) {
        this.lend(entry, now, this.acquireSite());
        return Promise.resolve(entry.resource);
      }
      if (entry !== undefined) {
        const waiter = this.newWaiter(now, undefined, undefined);
        this.check(entry, waiter);
        return waiter.promise;
      }
    }
    return this.acquireSlow(options);
  }

  private acquireSlow(options: AcquireOptions | undefined): Promise<T> {
    if (this.state !== 'open') {
      return Promise.reject(this.state === 'draining' ? new PoolDrainingError() : new PoolClosedError());
    }
    const invalid = options === undefined ? undefined : invalidAcquireOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = options?.signal;
    if (signal?.aborted) {
      this.acquireAborts++;
      return Promise.reject(new AbortError(signal.reason));
    }
    const now = coarseNow();
    const waiter = this.newWaiter(now, options?.timeoutMs, signal);
    if (this.waiters.length === 0) {
      const entry = this.takeIdle(now);
      if (entry !== undefined) {
        this.serve(entry, waiter, now);
        return waiter.promise;
      }
    }
    this.enqueue(waiter);
    // Checked here first because a full pool with a queue is the steady state under load.
    if (this.entries.size + this.pendingCreates < this.options.max) this.pumpCreates();
    return waiter.promise;
  }

  /**
   * Gives a resource back. It is destroyed instead when `destroy` or `error` is given, when it is dead,
   * past its lifetime, or the pool is draining; otherwise the first waiter gets it at once.
   * @throws InvalidReleaseError when the resource is not currently lent out by this pool; InvalidOptionError
   * when `options` is not `{ destroy?: boolean, error? }` (the resource stays lent out).
   */
  release(resource: T, options?: ReleaseOptions): void {
    if (options !== undefined) checkReleaseOptions(options);
    const entry = this.entryOf(resource);
    if (entry === undefined || entry.state !== Busy) {
      // After a drain timed out and destroyed it, a late release is expected, not a bug.
      if (entry === undefined && this.state !== 'open') return;
      throw new InvalidReleaseError();
    }
    this.released++;
    // emit() builds an arguments array even with no listener; asked per call, not tracked, so
    // removeAllListeners() (which drops any tracking listeners too) cannot make events go missing.
    if (this.listenerCount('release') > 0) this.emit('release', resource);
    if (options !== undefined && (options.destroy === true || options.error !== undefined)) {
      this.destroy(entry, 'released-destroy');
      return;
    }
    if (entry.diedAt >= 0 || !this.isAlive(entry)) {
      this.reportDeath(entry, undefined);
      this.destroy(entry, 'dead');
      return;
    }
    const now = coarseNow();
    if (now >= entry.expiresAt) {
      this.destroy(entry, 'lifetime');
      return;
    }
    if (this.state !== 'open') {
      this.destroy(entry, 'drain');
      return;
    }
    entry.verifiedAt = now;
    // Straight to the first waiter: it was in use a moment ago, so no event-loop turn is needed.
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      if (this.waiters.length === 0) this.disarmDeadline();
      this.lendTo(entry, waiter, now);
      return;
    }
    entry.move(Idle);
    entry.idleSince = now;
    this.idle.push(entry);
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
    let n = 0;
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      waiter.fail(error);
      n++;
    }
    this.disarmDeadline();
    return n;
  }

  /**
   * Stops lending: rejects waiters with PoolDrainingError, destroys idle resources and pending creates,
   * waits for lent-out resources to come back and destroys them. After `timeoutMs` (default 30 000) the
   * ones still out are destroyed too. Resolves when everything is destroyed; the pool is then closed.
   */
  drain(options?: { timeoutMs?: number }): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    const invalid = invalidDrainOptions(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    this.state = 'draining';
    this.drained = new Promise((resolve) => {
      this.resolveDrained = resolve;
    });
    const draining = new PoolDrainingError();
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      waiter.fail(draining);
    }
    this.disarmDeadline();
    clearTimeout(this.backoffTimer);
    // Armed before anything is destroyed: the last destroy may finish the drain synchronously and clear it.
    const timeoutMs = options?.timeoutMs ?? 30_000;
    if (timeoutMs !== Number.POSITIVE_INFINITY) {
      this.drainTimer = setTimeout(() => {
        for (const entry of [...this.entries.values()]) this.destroy(entry, 'drain-timeout');
      }, timerMs(timeoutMs));
    }
    for (const create of [...this.creates]) create.abandon(draining);
    for (const entry of this.idle.toArray()) this.destroy(entry, 'drain');
    for (const entry of this.entries.values()) {
      if (entry.state === Checking && entry.waiter?.state === WaiterState.Reserved)
        entry.waiter.fail(draining);
    }
    this.finishDrainIfDone();
    return this.drained;
  }

  /** A snapshot of counts and counters. */
  stats(): PoolStats {
    let busy = 0;
    let checking = 0;
    for (const entry of this.entries.values()) {
      if (entry.state === Busy) busy++;
      else if (entry.state === Checking) checking++;
    }
    return {
      state: this.state,
      min: this.options.min,
      max: this.options.max,
      total: this.entries.size,
      idle: this.idle.length,
      busy,
      checking,
      waiting: this.waiters.length,
      pendingCreates: this.pendingCreates,
      createFailuresInARow: this.createFailuresInARow,
      lastCreateError: this.lastCreateError,
      acquired: this.acquired,
      released: this.released,
      created: this.created,
      createErrors: this.createErrors,
      acquireTimeouts: this.acquireTimeouts,
      acquireAborts: this.acquireAborts,
      leaks: this.leaks,
      evicted: { ...this.evicted },
    };
  }

  /** @internal Called by a Waiter whose AbortSignal fired. */
  abortWaiter(waiter: Waiter<T>): void {
    if (waiter.state === WaiterState.Settled) return;
    // A reserved waiter's resource is under check; finishCheck sees the waiter gone and keeps it idle.
    if (waiter.state === WaiterState.Queued) {
      this.waiters.remove(waiter);
      if (this.waiters.length === 0) this.disarmDeadline();
    }
    this.acquireAborts++;
    waiter.fail(new AbortError(waiter.signal?.reason));
  }

  /** @internal The event-loop turn of a check has passed: pending FIN/RST events have landed by now. */
  afterTurn(entry: Entry<T>): void {
    if (entry.state !== Checking) return;
    if (entry.diedAt >= 0 || !this.isAlive(entry)) {
      this.finishCheck(entry, 'dead', undefined);
      return;
    }
    const ping = this.factory.ping;
    if (ping === undefined) {
      this.finishCheck(entry, undefined, undefined);
      return;
    }
    const timeoutMs = this.options.pingTimeoutMs;
    const controller = new AbortController();
    // The caller's deadline may come before the ping's: the caller then gets its timeout on time, and the
    // ping goes on to decide whether the resource stays (a slow answer is not a dead resource).
    const waiter = entry.waiter;
    const left = waiter === undefined ? Number.POSITIVE_INFINITY : waiter.deadline - coarseNow();
    const deadlineTimer =
      left < timeoutMs
        ? setTimeout(
            () => {
              if (waiter?.state === WaiterState.Reserved) this.rejectTimedOut(waiter, this.stats());
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
      this.finishCheck(entry, error === undefined ? undefined : 'ping-failed', error);
    };
    const timer = setTimeout(() => {
      const error = new PingTimeoutError(timeoutMs);
      controller.abort(error);
      finish(error);
    }, timerMs(timeoutMs)).unref();
    try {
      ping.call(this.factory, entry.resource, controller.signal).then(
        () => finish(undefined),
        (error: unknown) => finish(error ?? new Error('ping failed')),
      );
    } catch (error) {
      finish(error ?? new Error('ping failed'));
    }
  }

  // ——— lending ———————————————————————————————————————————————————————————————————————————————————————

  private entryOf(resource: T): Entry<T> | undefined {
    if (typeof resource === 'object' && resource !== null) {
      const entry = (resource as Tagged<T>)[ENTRY];
      if (entry !== undefined && entry.owner === this) return entry;
    }
    return this.entries.get(resource);
  }

  /** Pops idle resources until one is alive and within its lifetime; destroys the others on the way. */
  private takeIdle(now: number): Entry<T> | undefined {
    while (this.idle.length > 0) {
      const entry = (this.lifo ? this.idle.pop() : this.idle.shift())!;
      if (entry.diedAt >= 0 || !this.isAlive(entry)) {
        this.reportDeath(entry, undefined);
        this.destroy(entry, 'dead');
      } else if (now >= entry.expiresAt) {
        this.destroy(entry, 'lifetime');
      } else {
        return entry;
      }
    }
    return undefined;
  }

  /** Hands a just-taken idle entry to a waiter, through a check when it has been idle long enough. */
  private serve(entry: Entry<T>, waiter: Waiter<T>, now: number): void {
    if (now - entry.verifiedAt < this.options.validateAfterIdleMs) this.lendTo(entry, waiter, now);
    else this.check(entry, waiter);
  }

  private lend(entry: Entry<T>, now: number, site: Error | undefined): void {
    if (entry.state !== Busy) entry.move(Busy);
    entry.acquiredAt = now;
    this.acquired++;
    if (this.leakDetection) {
      entry.acquireSite = site;
      entry.leakCheckAt = now + this.options.leakDetectionMs;
    }
    if (this.listenerCount('acquire') > 0) this.emit('acquire', entry.resource);
  }

  private lendTo(entry: Entry<T>, waiter: Waiter<T>, now: number): void {
    this.lend(entry, now, waiter.site);
    waiter.fulfil(entry.resource);
  }

  private newWaiter(now: number, timeoutMs: number | undefined, signal: AbortSignal | undefined): Waiter<T> {
    const ms = timeoutMs ?? this.options.acquireTimeoutMs;
    return new Waiter<T>(this, now + ms, ms, signal, this.acquireSite());
  }

  /** The acquiring call site, for the leak report: captured only when leak detection is on. */
  private acquireSite(): Error | undefined {
    return this.leakDetection ? new Error('acquired here') : undefined;
  }

  private enqueue(waiter: Waiter<T>): void {
    this.waiters.push(waiter);
    if (waiter.deadline < this.deadlineAt) this.armDeadline(waiter.deadline);
  }

  /** Serves queued waiters from the idle list, then starts the creates still needed. */
  private dispatch(): void {
    while (this.waiters.length > 0 && this.state === 'open') {
      const now = coarseNow();
      const entry = this.takeIdle(now);
      if (entry === undefined) break;
      this.serve(entry, this.waiters.shift()!, now);
    }
    if (this.waiters.length === 0) this.disarmDeadline();
    this.pumpCreates();
  }

  // ——— checks ——————————————————————————————————————————————————————————————————————————————————————————

  /** Takes an entry out for a check; `waiter` is who gets it if it passes (none for a keepalive). */
  private check(entry: Entry<T>, waiter: Waiter<T> | undefined): void {
    entry.move(Checking);
    entry.waiter = waiter;
    if (waiter !== undefined) waiter.state = WaiterState.Reserved;
    setImmediate(afterTurn, this, entry);
  }

  private finishCheck(entry: Entry<T>, failure: EvictReason | undefined, error: unknown): void {
    const waiter = entry.waiter;
    entry.waiter = undefined;
    const waiting = waiter !== undefined && waiter.state === WaiterState.Reserved;
    if (entry.state !== Checking) {
      // Destroyed meanwhile by a drain timeout; the waiter was rejected then.
      return;
    }
    if (failure !== undefined) {
      if (failure === 'dead') this.reportDeath(entry, error instanceof Error ? error : undefined);
      this.destroy(entry, failure);
      if (waiting && this.state === 'open') {
        // Back to the head of the queue: the caller never sees the dead resource and keeps its place.
        waiter.state = WaiterState.Queued;
        this.waiters.unshift(waiter);
        if (waiter.deadline < this.deadlineAt) this.armDeadline(waiter.deadline);
      }
      this.dispatch();
      return;
    }
    if (this.state !== 'open') {
      this.destroy(entry, 'drain');
      return;
    }
    const now = coarseNow();
    entry.verifiedAt = now;
    if (waiting) {
      if (now < waiter.deadline) {
        this.lendTo(entry, waiter, now);
        return;
      }
      this.rejectTimedOut(waiter, this.stats());
    }
    entry.move(Idle);
    this.idle.push(entry);
    this.dispatch();
  }

  // ——— deadlines ———————————————————————————————————————————————————————————————————————————————————————

  private armDeadline(at: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    // Ref'd on purpose: while someone awaits an acquire the process must not exit under them.
    this.deadlineTimer = setTimeout(this.onDeadline, timerMs(Math.max(0, at - preciseNow())));
  }

  private disarmDeadline(): void {
    if (this.deadlineTimer === undefined) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
  }

  private expireWaiters(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    const now = preciseNow();
    let next = Number.POSITIVE_INFINITY;
    // The state as it was when the deadline hit, the timed-out waiters included.
    const stats = this.waiters.length > 0 ? this.stats() : undefined;
    // One pass keeping order: expired waiters are rejected, the rest go back in the same sequence.
    for (let n = this.waiters.length; n > 0; n--) {
      const waiter = this.waiters.shift()!;
      if (waiter.deadline <= now) {
        this.rejectTimedOut(waiter, stats!);
      } else {
        this.waiters.push(waiter);
        if (waiter.deadline < next) next = waiter.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armDeadline(next);
  }

  private rejectTimedOut(waiter: Waiter<T>, stats: PoolStats): void {
    this.acquireTimeouts++;
    waiter.fail(new AcquireTimeoutError(waiter.timeoutMs, stats));
  }

  // ——— creating ————————————————————————————————————————————————————————————————————————————————————————

  /** Starts creates while waiters outnumber them or the pool is below min, within concurrency and backoff. */
  private pumpCreates(): void {
    const o = this.options;
    while (this.state === 'open' && this.pendingCreates < o.createConcurrency) {
      const total = this.entries.size + this.pendingCreates;
      if (total >= o.max) return;
      if (this.waiters.length <= this.pendingCreates && total >= o.min) return;
      const wait = this.createNotBefore - coarseNow();
      if (wait > 0) {
        if (this.backoffTimer === undefined) {
          this.backoffTimer = setTimeout(() => {
            this.backoffTimer = undefined;
            this.pumpCreates();
          }, timerMs(wait)).unref();
        }
        return;
      }
      this.startCreate();
    }
  }

  private startCreate(): void {
    this.pendingCreates++;
    const controller = new AbortController();
    let settled = false;
    const timeoutMs = this.options.createTimeoutMs;
    const timer = setTimeout(() => {
      const error = new CreateTimeoutError(timeoutMs);
      controller.abort(error);
      onFailed(error);
    }, timerMs(timeoutMs)).unref();
    const onCreated = (resource: T): void => {
      if (settled) {
        // It timed out or the pool drained: nobody is owed this resource.
        this.destroyResource(resource);
        return;
      }
      settled = true;
      clearTimeout(timer);
      this.creates.delete(pending);
      this.pendingCreates--;
      this.adopt(resource);
    };
    const onFailed = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.creates.delete(pending);
      this.pendingCreates--;
      this.createFailed(error);
    };
    const pending = {
      abandon: (reason: Error): void => {
        controller.abort(reason);
        onFailed(reason);
      },
    };
    this.creates.add(pending);
    try {
      this.factory.create(controller.signal).then(onCreated, onFailed);
    } catch (error) {
      onFailed(error);
    }
  }

  private adopt(resource: T): void {
    if (this.state !== 'open') {
      this.destroyResource(resource);
      this.finishDrainIfDone();
      return;
    }
    const now = preciseNow();
    const o = this.options;
    const lifetime =
      o.maxLifetimeMs === Number.POSITIVE_INFINITY
        ? o.maxLifetimeMs
        : jitteredLifetimeMs(o.maxLifetimeMs, o.lifetimeJitter);
    const entry = new Entry(this, resource, now, now + lifetime);
    this.entries.set(resource, entry);
    tag(resource, entry);
    // Checking while it is adopted: a death reported during onDeath's registration is only recorded.
    entry.move(Checking);
    const bornDead = this.deadAtBirth(entry);
    if (bornDead !== undefined) {
      // A failed create, so creates back off: a factory whose resources are always dead must not spin.
      this.reportDeath(entry, bornDead);
      this.createFailed(bornDead);
      this.destroy(entry, 'dead');
      return;
    }
    this.createFailuresInARow = 0;
    this.createNotBefore = 0;
    this.created++;
    entry.move(Idle);
    this.emit('create', resource);
    if (entry.state === Destroyed) return; // died inside a create listener
    if (this.state !== 'open') {
      this.destroy(entry, 'drain');
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      if (this.waiters.length === 0) this.disarmDeadline();
      this.lendTo(entry, waiter, now);
    } else {
      this.idle.push(entry);
    }
    this.pumpCreates();
  }

  /** Registers onDeath and checks alive(): why a just-created resource is unusable, or undefined. */
  private deadAtBirth(entry: Entry<T>): Error | undefined {
    const onDeath = this.factory.onDeath;
    if (onDeath !== undefined) {
      try {
        onDeath.call(this.factory, entry.resource, (error) => this.onResourceDeath(entry, error));
      } catch (error) {
        return new FactoryCallbackError('onDeath', error);
      }
    }
    if (entry.diedAt >= 0) return new CreatedDeadError(entry.diedWith);
    try {
      return this.factory.alive(entry.resource) ? undefined : new CreatedDeadError(undefined);
    } catch (error) {
      return new FactoryCallbackError('alive', error);
    }
  }

  private createFailed(error: unknown): void {
    if (this.state !== 'open') {
      this.finishDrainIfDone();
      return;
    }
    const err = toError(error);
    this.createErrors++;
    this.createFailuresInARow++;
    this.lastCreateError = err;
    const o = this.options;
    this.createNotBefore =
      coarseNow() +
      createBackoffMs(this.createFailuresInARow, o.createRetryBaseDelayMs, o.createRetryMaxDelayMs);
    this.emitError(err);
    this.pumpCreates();
  }

  // ——— removal —————————————————————————————————————————————————————————————————————————————————————————

  private onResourceDeath(entry: Entry<T>, error: Error | undefined): void {
    if (entry.state === Destroyed) return;
    this.reportDeath(entry, error);
    // Busy: the holder learns from its own I/O and release() destroys it; Checking: the check sees diedAt.
    if (entry.state === Idle) this.destroy(entry, 'dead');
  }

  private reportDeath(entry: Entry<T>, error: Error | undefined): void {
    if (entry.diedAt >= 0) return;
    entry.diedAt = coarseNow();
    entry.diedWith = error;
    this.emit('death', entry.resource, error);
  }

  /**
   * `factory.alive()`, contained: one that throws counts as a death (reported with a FactoryCallbackError
   * on 'death' and 'error'), and the caller destroys the resource as it does any dead one.
   */
  private isAlive(entry: Entry<T>): boolean {
    try {
      return this.factory.alive(entry.resource);
    } catch (error) {
      const failure = new FactoryCallbackError('alive', error);
      this.reportDeath(entry, failure);
      this.emitError(failure);
      return false;
    }
  }

  /** Removes an entry (already out of the idle list, or removed here) and destroys its resource. */
  private destroy(entry: Entry<T>, reason: EvictReason): void {
    if (entry.state === Destroyed) return;
    if (entry.state === Idle) this.idle.remove(entry);
    if (entry.state === Checking && entry.waiter?.state === WaiterState.Reserved) {
      entry.waiter.fail(this.state === 'open' ? new PoolClosedError() : new PoolDrainingError());
    }
    entry.move(Destroyed);
    this.entries.delete(entry.resource);
    tag(entry.resource, undefined);
    this.evicted[reason]++;
    this.emit('evict', entry.resource, reason);
    this.destroyResource(entry.resource);
    if (this.state === 'open') this.pumpCreates();
    else this.finishDrainIfDone();
  }

  private destroyResource(resource: T): void {
    let result: void | Promise<void>;
    try {
      result = this.factory.destroy(resource);
    } catch (error) {
      this.emitError(error);
      return;
    }
    if (result === undefined || typeof result.then !== 'function') return;
    this.destroying++;
    result.then(
      () => this.destroyed(),
      (error: unknown) => {
        this.emitError(error);
        this.destroyed();
      },
    );
  }

  private destroyed(): void {
    this.destroying--;
    this.finishDrainIfDone();
  }

  private finishDrainIfDone(): void {
    if (this.state !== 'draining') return;
    if (this.entries.size > 0 || this.pendingCreates > 0 || this.destroying > 0) return;
    this.state = 'closed';
    clearInterval(this.housekeepingTimer);
    clearTimeout(this.drainTimer);
    clearTimeout(this.backoffTimer);
    this.resolveDrained?.();
  }

  // ——— housekeeping ————————————————————————————————————————————————————————————————————————————————————

  /** Runs every few ms to seconds (unref'd): idle timeout, lifetime, keepalive, leaks, min. */
  private housekeep(): void {
    if (this.state !== 'open') return;
    const now = preciseNow();
    const o = this.options;
    // Front to back is least to most recently released, so idle timeout removes the coldest first.
    for (const entry of this.idle.toArray()) {
      if (entry.diedAt >= 0 || !this.isAlive(entry)) {
        this.reportDeath(entry, undefined);
        this.destroy(entry, 'dead');
      } else if (now >= entry.expiresAt) {
        this.destroy(entry, 'lifetime');
      } else if (now - entry.idleSince >= o.idleTimeoutMs && this.entries.size > o.min) {
        this.destroy(entry, 'idle-timeout');
      } else if (now - entry.verifiedAt >= o.keepaliveIntervalMs) {
        this.idle.remove(entry);
        this.check(entry, undefined);
      }
    }
    if (this.leakDetection) {
      for (const entry of this.entries.values()) {
        if (entry.state !== Busy || now < entry.leakCheckAt) continue;
        entry.leakCheckAt = Number.POSITIVE_INFINITY;
        this.leaks++;
        const stack = entry.acquireSite?.stack ?? '(no stack)';
        this.emit('leak', { resource: entry.resource, heldMs: now - entry.acquiredAt, stack });
      }
    }
    this.pumpCreates();
  }

  private emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', toError(error));
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
