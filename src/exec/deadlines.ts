// exec's deadline timer: one Node timer for every pending operation's deadline, on lifeline's one clock.
import { coarseNow, preciseNow, timerMs } from '../core/time.js';

/** Something with a deadline the DeadlineTimer watches; `timerIndex` is its bookkeeping (−1 when absent). */
export interface Expirable {
  readonly deadline: number;
  timerIndex: number;
  expire(now: number): void;
}

// How soon after the last operation the deadline timer lets the process exit.
const TICK_MS = 4;

/**
 * The shared deadline timer of every execute() call: one Node timer for all pending deadlines.
 *
 * Adding and removing are O(1) (swap-remove by index). One timer is armed for the earliest deadline; when
 * it fires it scans only the operations still pending, usually few, since most finish long before their
 * deadline. The timer holds the process open while anything is pending, so an operation waiting on nothing
 * still ends by its deadline; it is let go by a tick after the last one finishes, rather than per call,
 * because ref/unref can each cost a native call.
 *
 * Clock: lifeline's one clock (core/time.ts), monotonic and epoch-aligned (it starts at Date.now() and never
 * steps back when the wall clock does). `now()` is its coarse reading, cached within an event-loop turn
 * (refreshed at the first read of every turn and every 32 reads): deadlines and breaker windows need no
 * sub-millisecond precision, and a real read (~50-80 ns) costs more than the rest of a fast call. The timer
 * itself, when it fires, reads the clock for real.
 */
export class DeadlineTimer {
  private readonly entries: Expirable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  // Whether `timer` currently holds the process open.
  private holding = false;
  private ticker: NodeJS.Timeout | undefined;
  // Whether an operation started since the last tick.
  private fresh = false;

  get size(): number {
    return this.entries.length;
  }

  /** Milliseconds on lifeline's clock (core/time.ts), possibly cached within the event-loop turn. */
  now(): number {
    return coarseNow();
  }

  add(entry: Expirable): void {
    this.fresh = true;
    if (this.ticker === undefined) this.startTicker();
    entry.timerIndex = this.entries.length;
    this.entries.push(entry);
    if (entry.deadline < this.armedAt) this.arm(entry.deadline);
    else if (!this.holding && this.timer !== undefined) {
      this.holding = true;
      this.timer.ref();
    }
  }

  remove(entry: Expirable): void {
    const index = entry.timerIndex;
    if (index < 0) return;
    entry.timerIndex = -1;
    const last = this.entries.pop() as Expirable;
    if (last !== entry) {
      this.entries[index] = last;
      last.timerIndex = index;
    }
    // The next tick lets the process go, unless another operation starts before it.
    if (this.entries.length === 0 && this.ticker === undefined) this.startTicker();
  }

  /** @internal called by the tick interval. */
  tick(): void {
    const idle = this.entries.length === 0;
    if (idle && this.holding) {
      this.holding = false;
      this.timer?.unref();
    }
    // No operation started during this tick: stop; the next add() or last remove() restarts it.
    if (!this.fresh) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this.fresh = false;
  }

  /** @internal called by the deadline timer. */
  fire(): void {
    this.timer = undefined;
    this.holding = false;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = preciseNow();
    let expired: Expirable[] | undefined;
    let next = Number.POSITIVE_INFINITY;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as Expirable;
      if (entry.deadline <= now) {
        this.remove(entry);
        if (expired === undefined) expired = [];
        expired.push(entry);
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    if (expired) for (const entry of expired) entry.expire(now);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    // Armed only while something is pending, so it starts out holding the process open.
    this.timer = setTimeout(fireTimer, timerMs(Math.max(1, at - preciseNow())), this);
    this.holding = true;
  }

  private startTicker(): void {
    this.ticker = setInterval(tickClock, TICK_MS, this);
    this.ticker.unref();
  }
}

function fireTimer(timer: DeadlineTimer): void {
  timer.fire();
}

function tickClock(timer: DeadlineTimer): void {
  timer.tick();
}

/** The process-wide deadline timer every execute() call uses. */
export const deadlines = new DeadlineTimer();
