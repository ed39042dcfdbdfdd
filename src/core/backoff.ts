// Exponential backoff, written once: the ceiling of the nth delay and the full-jitter draw under it.

/**
 * The nth delay's ceiling (n = 1 for the first): min(maxMs, baseMs·2^(n−1)). The exponent stops at 52, so a
 * long run of failures never overflows to Infinity or NaN. n ≤ 0 is no delay.
 */
export function backoffCeilingMs(n: number, baseMs: number, maxMs: number): number {
  if (!(n > 0)) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 52));
}

/**
 * Full jitter (AWS's "Exponential Backoff and Jitter"): the nth delay drawn uniformly from
 * [0, {@link backoffCeilingMs}), so a crowd of failing clients spreads out instead of retrying in waves.
 * `random` is injectable for tests.
 */
export function fullJitterMs(
  n: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return random() * backoffCeilingMs(n, baseMs, maxMs);
}
