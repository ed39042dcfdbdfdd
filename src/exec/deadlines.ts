/** Something with a deadline the DeadlineTimer watches; `timerIndex` is its bookkeeping (−1 when absent). */
export interface Expirable {
  readonly deadline: number;
  timerIndex: number;
  expire(now: number): void;
}

// How stale the coarse clock may get, and how soon after the last operation the process may exit.
const TICK_MS = 4;

/**
 * The shared clock of every execute() call: one timer for all pending deadlines, and a coarse `now`.
 *
 * Deadlines: adding and removing are O(1) (swap-remove by index). One timer is armed for the earliest
 * deadline; when it fires it scans only the operations still pending, usually few, since most finish
 * long before their deadline. The timer holds the process open while anything is pending, so an
 * operation waiting on nothing still ends by its deadline; it is let go on the next tick after the last
 * one finishes, rather than per call, because ref/unref can each cost a native call.
 *
 * Clock: reading it is not free (Date.now() measured ~80 ns on the CI VM, more than the rest of a fast
 * call), and deadlines and breaker windows need no sub-millisecond precision. `now()` reads it for real
 * at most once per 32 calls and once per tick, so it lags Date.now() by at most a tick plus any run of
 * synchronous code (which blocks every timer anyway) and is never ahead of it. The tick interval is
 * unref'd and stops itself after a tick in which nobody asked for the time and nothing was pending.
 */
export class DeadlineTimer {
  private readonly entries: Expirable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  // Whether `timer` currently holds the process open.
  private holding = false;
  private ticker: NodeJS.Timeout | undefined;
  private cached = 0;
  private fresh = false;
  private uses = 0;

  get size(): number {
    return this.entries.length;
  }

  /** Epoch ms, possibly a few ms behind Date.now(), never ahead. */
  now(): number {
    if (this.fresh && ++this.uses < 32) return this.cached;
    this.cached = Date.now();
    this.uses = 0;
    this.fresh = true;
    if (this.ticker === undefined) this.startTicker();
    return this.cached;
  }

  add(entry: Expirable): void {
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
    // Nobody asked for the time during this tick: stop; the next now() or last remove() restarts it.
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
    const now = Date.now();
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
    this.timer = setTimeout(fireTimer, Math.max(1, at - Date.now()), this);
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

/** The process-wide deadline timer and clock every execute() call uses. */
export const deadlines = new DeadlineTimer();
