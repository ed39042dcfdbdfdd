import { performance } from 'node:perf_hooks';

// A monotonic clock read costs ~50 ns here, a quarter of a whole acquire+release; the hot path reads this
// cached value instead. It is refreshed from the real clock on the first read after every event-loop turn
// (a turn is where FIN/RST events land, so idle time measured across turns stays exact) and every
// REFRESH_EVERY reads within one turn, so a long run of synchronous work is noticed within a few operations.
// Limit: a synchronous block between a release and the next acquire *in the same turn* with no pool calls
// in between is not seen; that acquire treats the resource as freshly used.
const REFRESH_EVERY = 32;

let cached = performance.now();
let readsLeft = 0;
let expiryScheduled = false;

function expire(): void {
  expiryScheduled = false;
  readsLeft = 0;
}

/** Milliseconds on a monotonic clock, possibly cached within the current event-loop turn. */
export function coarseNow(): number {
  if (readsLeft > 0) {
    readsLeft--;
    return cached;
  }
  return preciseNow();
}

/** Milliseconds on a monotonic clock, read now; also refreshes the cache. */
export function preciseNow(): number {
  cached = performance.now();
  readsLeft = REFRESH_EVERY;
  if (!expiryScheduled) {
    expiryScheduled = true;
    setImmediate(expire).unref();
  }
  return cached;
}
