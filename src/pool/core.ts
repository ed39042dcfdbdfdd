// The pool's shared state (HikariCP's "bag"): the entries, the idle list, the open/draining/closed state and
// the counters, with the moves every part makes on them: take an idle entry, lend, destroy, drain. The tasks
// acting on this state sit beside it, one file each: creator.ts (creation, backoff, dead-at-birth),
// checks.ts (the one dead-check, the pre-handout check and ping), waiters.ts (queue, deadlines, abort) and
// housekeeper.ts (idle timeout, lifetime, keepalive, leaks); pool.ts is the public facade.
import { timerMs } from '../core/time.js';
import { Checker } from './checks.js';
import { poolNow } from './clock.js';
import { Creator } from './creator.js';
import { Entry, EntryState, tag, taggedEntry } from './entry.js';
import { PoolClosedError, PoolDrainingError } from './errors.js';
import { type PoolEmitter, toError } from './events.js';
import { Housekeeper } from './housekeeper.js';
import type { PoolObserver } from './observer.js';
import type { Factory, ResolvedPoolOptions } from './options.js';
import { Deque } from './queue.js';
import { type EvictReason, emptyEvictCounts, type PoolStats } from './stats.js';
import { type Waiter, WaiterState } from './waiter.js';
import { WaiterQueue } from './waiters.js';

const { Idle, Checking, Busy, Destroyed } = EntryState;

/** Whether 'acquire' and 'release' have listeners, so the hot path need not ask the emitter per call. */
export class Listening {
  acquire = false;
  release = false;

  refresh(events: PoolEmitter<unknown>): void {
    this.acquire = events.listenerCount('acquire') > 0;
    this.release = events.listenerCount('release') > 0;
  }
}

export type PoolState = 'open' | 'draining' | 'closed';

export class PoolCore<T> {
  readonly options: ResolvedPoolOptions<T>;
  readonly factory: Factory<T>;
  /** The Pool facade: every part emits its events through it. */
  readonly events: PoolEmitter<T>;
  readonly entries = new Map<T, Entry<T>>();
  /** Grows with use: nothing is sized by max up front. */
  readonly idle = new Deque<Entry<T>>();
  readonly lifo: boolean;
  readonly leakDetection: boolean;
  state: PoolState = 'open';
  readonly waiters: WaiterQueue<T>;
  readonly creator: Creator<T>;
  readonly checker: Checker<T>;
  /** Which hot-path events have listeners (kept by the Pool facade). */
  readonly listening = new Listening();
  /** Durations for the observe layer (observer.ts); undefined unless a pool is instrumented. */
  observer: PoolObserver | undefined = undefined;
  private readonly housekeeper: Housekeeper<T>;

  acquired = 0;
  released = 0;
  leaks = 0;
  readonly evicted = emptyEvictCounts();

  private destroying = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(options: ResolvedPoolOptions<T>, events: PoolEmitter<T>) {
    this.options = options;
    this.factory = options.factory;
    this.events = events;
    this.lifo = options.idleOrder === 'lifo';
    this.leakDetection = options.leakDetectionMs !== Number.POSITIVE_INFINITY;
    this.waiters = new WaiterQueue<T>(() => this.stats());
    this.checker = new Checker(this);
    this.creator = new Creator(this);
    this.housekeeper = new Housekeeper(this);
    this.creator.pump();
  }

  /** The entry of a resource this pool created, or undefined. */
  entryOf(resource: T): Entry<T> | undefined {
    return taggedEntry(resource, this) ?? this.entries.get(resource);
  }

  /** Registers a just-created resource's entry (in state Checking until it is known to be alive). */
  register(resource: T, now: number, expiresAt: number): Entry<T> {
    const entry = new Entry(this, resource, now, expiresAt);
    this.entries.set(resource, entry);
    tag(resource, entry);
    entry.move(Checking);
    return entry;
  }

  /** Pops idle resources until one is usable; retires the others on the way. */
  takeIdle(now: number): Entry<T> | undefined {
    while (this.idle.length > 0) {
      const entry = (this.lifo ? this.idle.pop() : this.idle.shift())!;
      if (!this.checker.retireIfUnusable(entry, now)) return entry;
    }
    return undefined;
  }

  /** Hands a just-taken idle entry to a waiter, through a check when it has been idle long enough. */
  serve(entry: Entry<T>, waiter: Waiter<T>, now: number): void {
    if (now - entry.verifiedAt < this.options.validateAfterIdleMs) this.lendTo(entry, waiter, now);
    else this.checker.start(entry, waiter);
  }

  /** Lends `entry`; `since` is when the acquire began (its wait is reported to an observer). */
  lend(entry: Entry<T>, now: number, site: Error | undefined, since = now): void {
    if (entry.state !== Busy) entry.move(Busy);
    entry.acquiredAt = now;
    this.acquired++;
    // A wait under 1 ms (the hot path's) is not reported: the observer counts those from stats().acquired.
    if (since !== now && this.observer !== undefined) this.observer.waited(now - since);
    if (this.leakDetection) {
      entry.acquireSite = site;
      entry.leakCheckAt = now + this.options.leakDetectionMs;
    }
    if (this.listening.acquire) this.events.emit('acquire', entry.resource);
  }

  lendTo(entry: Entry<T>, waiter: Waiter<T>, now: number): void {
    this.lend(entry, now, waiter.site, waiter.queuedAt);
    waiter.fulfil(entry.resource);
  }

  /** An entry that is usable now goes to the first waiter, else back to the idle list. */
  offer(entry: Entry<T>, now: number): void {
    if (this.waiters.length > 0) {
      this.lendTo(entry, this.waiters.shift()!, now);
      return;
    }
    entry.move(Idle);
    this.idle.push(entry);
  }

  /** The acquiring call site, for the leak report: captured only when leak detection is on. */
  acquireSite(): Error | undefined {
    return this.leakDetection ? new Error('acquired here') : undefined;
  }

  /** Serves queued waiters from the idle list, then starts the creates still needed. */
  dispatch(): void {
    while (this.waiters.length > 0 && this.state === 'open') {
      const now = poolNow();
      const entry = this.takeIdle(now);
      if (entry === undefined) break;
      this.serve(entry, this.waiters.shift()!, now);
    }
    this.creator.pump();
  }

  /** Removes an entry (already out of the idle list, or removed here) and destroys its resource. */
  destroy(entry: Entry<T>, reason: EvictReason): void {
    if (entry.state === Destroyed) return;
    if (entry.state === Idle) this.idle.remove(entry);
    if (entry.state === Checking && entry.waiter?.state === WaiterState.Reserved) {
      entry.waiter.fail(this.state === 'open' ? new PoolClosedError() : new PoolDrainingError());
    }
    entry.move(Destroyed);
    this.entries.delete(entry.resource);
    tag(entry.resource, undefined);
    this.evicted[reason]++;
    this.events.emit('evict', entry.resource, reason);
    this.destroyResource(entry.resource);
    if (this.state === 'open') this.creator.pump();
    else this.finishDrainIfDone();
  }

  /** `factory.destroy`, contained: a throw or a rejection is an 'error' event; a drain waits for it. */
  destroyResource(resource: T): void {
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

  /** See Pool.drain; `timeoutMs` is already checked. */
  drain(timeoutMs: number): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    this.state = 'draining';
    this.drained = new Promise((resolve) => {
      this.resolveDrained = resolve;
    });
    const draining = new PoolDrainingError();
    this.waiters.failAll(draining);
    this.creator.close();
    // Armed before anything is destroyed: the last destroy may finish the drain synchronously and clear it.
    if (timeoutMs !== Number.POSITIVE_INFINITY) {
      this.drainTimer = setTimeout(() => {
        for (const entry of [...this.entries.values()]) this.destroy(entry, 'drain-timeout');
      }, timerMs(timeoutMs));
    }
    this.creator.abandonAll(draining);
    for (const entry of this.idle.toArray()) this.destroy(entry, 'drain');
    for (const entry of this.entries.values()) {
      if (entry.state === Checking && entry.waiter?.state === WaiterState.Reserved) {
        entry.waiter.fail(draining);
      }
    }
    this.finishDrainIfDone();
    return this.drained;
  }

  finishDrainIfDone(): void {
    if (this.state !== 'draining') return;
    if (this.entries.size > 0 || this.creator.pending > 0 || this.destroying > 0) return;
    this.state = 'closed';
    this.housekeeper.stop();
    clearTimeout(this.drainTimer);
    this.creator.close();
    this.resolveDrained?.();
  }

  /** A snapshot of counts and counters. */
  stats(): PoolStats {
    let busy = 0;
    let checking = 0;
    for (const entry of this.entries.values()) {
      if (entry.state === Busy) busy++;
      else if (entry.state === Checking) checking++;
    }
    const creator = this.creator;
    return {
      state: this.state,
      min: this.options.min,
      max: this.options.max,
      total: this.entries.size,
      idle: this.idle.length,
      busy,
      checking,
      waiting: this.waiters.length,
      pendingCreates: creator.pending,
      createFailuresInARow: creator.failuresInARow,
      lastCreateError: creator.lastError,
      acquired: this.acquired,
      released: this.released,
      created: creator.created,
      createErrors: creator.errors,
      acquireTimeouts: this.waiters.timeouts,
      acquireAborts: this.waiters.aborts,
      leaks: this.leaks,
      evicted: { ...this.evicted },
    };
  }

  /** An 'error' event, emitted only while someone listens (see PoolEvents.error). */
  emitError(error: unknown): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', toError(error));
  }
}
