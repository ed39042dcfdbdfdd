// One origin's fast-path deadlines (fast.ts): a queue in start order, since they all share one deadlineMs.
import { preciseNow, timerMs } from '../../core/time.js';

/** A request in the queue: its deadline, whether it still waits for its response, and what ends it. */
export interface Queued {
  readonly deadline: number;
  /** True until the request got its response or ended: only a pending one is expired. */
  readonly pending: boolean;
  expire(now: number): void;
}

/**
 * The deadlines of one origin's fast-path requests. They all have the same deadlineMs and start on one
 * monotonic clock, so their deadlines come in start order: a FIFO replaces exec's shared timer (an index per
 * entry, swap-removal touching another request's object, a write per request into a long-lived array),
 * which measured 2–4 % of a request's CPU in bench/http. A request that ends is not removed, only counted
 * out (`done()`); the queue drops ended requests when they reach its head, and compacts itself when they
 * outnumber the pending ones, so it holds at most twice the requests in flight (plus 64). One timer, armed for
 * the head's deadline, holds the process open while a request is pending and lets it go when none is.
 */
export class DeadlineQueue {
  /**
   * Entries from #head to #tail. The array is reused: compaction moves the pending entries down in place and
   * clears the rest, so a queue in steady use allocates nothing (no push growth, no new array per compaction).
   */
  #items: (Queued | undefined)[] = [];
  #head = 0;
  #tail = 0;
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;

  /** Requests still waiting for their response. */
  get pending(): number {
    return this.#pending;
  }

  /** Entries held (ended ones included), for tests of the bound. */
  get held(): number {
    return this.#tail - this.#head;
  }

  add(entry: Queued): void {
    const items = this.#items;
    if (this.#tail < items.length) items[this.#tail] = entry;
    else items.push(entry);
    this.#tail++;
    if (this.#pending++ === 0 && this.#timer !== undefined) this.#timer.ref();
    if (this.#timer === undefined) this.#arm(entry.deadline);
    const held = this.#tail - this.#head;
    if (held > 64 && held > 2 * this.#pending) this.#compact();
  }

  /** A request in the queue got its response or ended (before its deadline: an expired one is not counted twice). */
  done(): void {
    if (--this.#pending === 0) this.#timer?.unref();
  }

  /** Moves the pending entries to the front, in order, and clears the slots behind them. */
  #compact(): void {
    const items = this.#items;
    const tail = this.#tail;
    let kept = 0;
    for (let i = this.#head; i < tail; i++) {
      const entry = items[i];
      if (entry?.pending) items[kept++] = entry;
    }
    for (let i = kept; i < tail; i++) items[i] = undefined;
    this.#head = 0;
    this.#tail = kept;
  }

  #arm(at: number): void {
    this.#timer = setTimeout(fire, timerMs(Math.max(1, at - preciseNow())), this);
    if (this.#pending === 0) this.#timer.unref();
  }

  /** @internal The timer fired: expire every pending request past its deadline, re-arm for the next. */
  fire(): void {
    this.#timer = undefined;
    const now = preciseNow();
    const expired: Queued[] = [];
    const items = this.#items;
    const tail = this.#tail;
    let head = this.#head;
    while (head < tail) {
      const entry = items[head] as Queued;
      if (entry.pending) {
        if (entry.deadline > now) break;
        expired.push(entry);
      }
      items[head++] = undefined;
    }
    // Expired requests are counted out here; they end below and never call done().
    this.#pending -= expired.length;
    if (head === tail) {
      this.#head = this.#tail = 0;
      // A burst's array is not kept once it has drained.
      if (items.length > 1024) this.#items = [];
    } else {
      this.#head = head;
      if (head > 1024 && head > tail / 2) this.#compact();
      this.#arm((items[this.#head] as Queued).deadline);
    }
    for (const entry of expired) entry.expire(now);
  }
}

function fire(queue: DeadlineQueue): void {
  queue.fire();
}
