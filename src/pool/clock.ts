// The pool's time: core's one monotonic clock (src/core/time.ts), as whole milliseconds since this module
// loaded. Whole numbers below 2^30 are V8 small integers, so for the first ~12 days of a process the hot path
// reads, compares and stores times without allocating a heap number (worth ~10% of an acquire+release);
// later readings are ordinary doubles, equally correct. Durations compare at 1 ms resolution.
import { coarseNow, preciseNow } from '../core/time.js';

const EPOCH = Math.floor(preciseNow());

/** Now, from the clock cached within the event-loop turn (see core's coarseNow). */
export function poolNow(): number {
  return Math.floor(coarseNow()) - EPOCH;
}

/** Now, read from the clock (for timers and housekeeping). */
export function poolPreciseNow(): number {
  return Math.floor(preciseNow()) - EPOCH;
}
