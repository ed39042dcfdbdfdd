// The waiters: acquires queued for a resource, in arrival order, with one timer for all their deadlines and
// their AbortSignals. A waiter costs no timer of its own; the one timer is armed at the earliest deadline.
import { timerMs } from '../core/time.js';
import { poolPreciseNow } from './clock.js';
import { AbortError, AcquireTimeoutError } from './errors.js';
import { Deque } from './queue.js';
import type { PoolStats } from './stats.js';
import { Waiter, type WaiterOwner, WaiterState } from './waiter.js';

export class WaiterQueue<T> implements WaiterOwner<T> {
  private readonly queue = new Deque<Waiter<T>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly onDeadline = (): void => this.expire();
  /** Acquires that timed out, and that were aborted, since construction. */
  timeouts = 0;
  aborts = 0;

  /** `stats` is the pool's state for the AcquireTimeoutError message. */
  constructor(private readonly stats: () => PoolStats) {}

  get length(): number {
    return this.queue.length;
  }

  /** A new waiter (not queued yet) whose deadline is `timeoutMs` from `now`. */
  create(
    now: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    site: Error | undefined,
  ): Waiter<T> {
    return new Waiter<T>(this, now, timeoutMs, signal, site);
  }

  /** Queues at the back. */
  push(waiter: Waiter<T>): void {
    this.queue.push(waiter);
    if (waiter.deadline < this.timerAt) this.arm(waiter.deadline);
  }

  /** Puts a waiter whose reserved resource failed its check back at the head: it keeps its place. */
  requeueFront(waiter: Waiter<T>): void {
    waiter.state = WaiterState.Queued;
    this.queue.unshift(waiter);
    if (waiter.deadline < this.timerAt) this.arm(waiter.deadline);
  }

  /** The first waiter, taken out of the queue; the timer stops with the last one. */
  shift(): Waiter<T> | undefined {
    const waiter = this.queue.shift();
    if (this.queue.length === 0) this.disarm();
    return waiter;
  }

  /** Rejects every queued waiter with `error`; returns how many. */
  failAll(error: Error): number {
    let n = 0;
    for (let waiter = this.queue.shift(); waiter !== undefined; waiter = this.queue.shift()) {
      waiter.fail(error);
      n++;
    }
    this.disarm();
    return n;
  }

  /** Rejects `waiter` with AcquireTimeoutError carrying `stats` (the pool's state now, by default). */
  timedOut(waiter: Waiter<T>, stats: PoolStats = this.stats()): void {
    this.timeouts++;
    waiter.fail(new AcquireTimeoutError(waiter.timeoutMs, stats));
  }

  /** @internal Called by a Waiter whose AbortSignal fired. */
  abortWaiter(waiter: Waiter<T>): void {
    if (waiter.state === WaiterState.Settled) return;
    // A reserved waiter's resource is under check; the check sees the waiter gone and keeps it idle.
    if (waiter.state === WaiterState.Queued) {
      this.queue.remove(waiter);
      if (this.queue.length === 0) this.disarm();
    }
    this.aborts++;
    waiter.fail(new AbortError(waiter.signal?.reason));
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    // Ref'd on purpose: while someone awaits an acquire the process must not exit under them. Durations
    // past what a Node timer holds are clamped; the timer re-arms for what is left, so it stays exact.
    this.timer = setTimeout(this.onDeadline, timerMs(Math.max(0, at - poolPreciseNow())));
  }

  disarm(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = poolPreciseNow();
    let next = Number.POSITIVE_INFINITY;
    // The state as it was when the deadline hit, the timed-out waiters included.
    const stats = this.queue.length > 0 ? this.stats() : undefined;
    // One pass keeping order: expired waiters are rejected, the rest go back in the same sequence.
    for (let n = this.queue.length; n > 0; n--) {
      const waiter = this.queue.shift()!;
      if (waiter.deadline <= now) {
        this.timedOut(waiter, stats);
      } else {
        this.queue.push(waiter);
        if (waiter.deadline < next) next = waiter.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
