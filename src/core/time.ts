// Time, written once: the one clamp every Node timer goes through, and the one monotonic clock the layers read.
import { performance } from 'node:perf_hooks';

/** The longest delay a Node timer holds (2^31-1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay as a Node timer can hold it: Infinity and anything past {@link MAX_TIMER_MS} become MAX_TIMER_MS
 * (Node would fire them after 1 ms, with a TimeoutOverflowWarning). A caller that waits longer re-arms
 * for what is left when the timer fires.
 */
export function timerMs(ms: number): number {
  return ms < MAX_TIMER_MS ? ms : MAX_TIMER_MS;
}

// A monotonic clock read costs ~50 ns, a quarter of a pool's whole acquire+release; hot paths read this
// cached value instead. It is refreshed from the real clock on the first read after every event-loop turn
// (a turn is where FIN/RST events land, so idle time measured across turns stays exact) and every
// REFRESH_EVERY reads within one turn, so a long run of synchronous work is noticed within a few operations.
// Limit: a synchronous block between two reads *in the same turn* with no other reads in between is not
// seen. Readings are epoch-aligned (performance.timeOrigin + performance.now()): they start near Date.now()
// and never step back when the wall clock does.
const REFRESH_EVERY = 32;
const ORIGIN = performance.timeOrigin;

let cached = ORIGIN + performance.now();
let readsLeft = 0;
let expiryScheduled = false;

function expire(): void {
  expiryScheduled = false;
  readsLeft = 0;
}

/** Milliseconds on the monotonic clock, possibly cached within the current event-loop turn. */
export function coarseNow(): number {
  if (readsLeft > 0) {
    readsLeft--;
    return cached;
  }
  return preciseNow();
}

/** Milliseconds on the monotonic clock, read now; also refreshes the cache {@link coarseNow} serves. */
export function preciseNow(): number {
  cached = ORIGIN + performance.now();
  readsLeft = REFRESH_EVERY;
  if (!expiryScheduled) {
    expiryScheduled = true;
    setImmediate(expire).unref();
  }
  return cached;
}
