const SLOTS = 10;

/**
 * Two counts over a sliding window (e.g. successes and failures), kept in ten slots so adding is O(1)
 * and old slots expire as time moves on. `now` is passed in so a caller reads the clock once per call.
 */
export class SlidingCounts {
  /** Sums over the window as of the last `add` or `advance`. */
  first = 0;
  second = 0;
  private readonly slotMs: number;
  private readonly firsts = new Float64Array(SLOTS);
  private readonly seconds = new Float64Array(SLOTS);
  // Slot number (now / slotMs) of the newest slot.
  private epoch = 0;

  constructor(windowMs: number) {
    this.slotMs = windowMs / SLOTS;
  }

  add(now: number, toFirst: boolean): void {
    const slot = this.advance(now);
    if (toFirst) {
      this.firsts[slot] = (this.firsts[slot] ?? 0) + 1;
      this.first++;
    } else {
      this.seconds[slot] = (this.seconds[slot] ?? 0) + 1;
      this.second++;
    }
  }

  /** Expires slots older than the window; returns the current slot's index. A clock going back is ignored. */
  advance(now: number): number {
    const epoch = Math.floor(now / this.slotMs);
    if (epoch > this.epoch) {
      const steps = Math.min(SLOTS, epoch - this.epoch);
      for (let i = 1; i <= steps; i++) {
        const index = (this.epoch + i) % SLOTS;
        this.first -= this.firsts[index] ?? 0;
        this.second -= this.seconds[index] ?? 0;
        this.firsts[index] = 0;
        this.seconds[index] = 0;
      }
      this.epoch = epoch;
    }
    return this.epoch % SLOTS;
  }

  clear(): void {
    this.firsts.fill(0);
    this.seconds.fill(0);
    this.first = 0;
    this.second = 0;
  }
}
