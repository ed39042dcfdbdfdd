/**
 * Delay before the next create after `failures` failures in a row: exponential with full jitter
 * (uniform in [0, min(maxDelayMs, baseDelayMs * 2^(failures-1))]), so many pools retrying against one
 * refusing server spread out instead of arriving in waves.
 */
export function createBackoffMs(
  failures: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  if (failures <= 0) return 0;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 30));
  return random() * ceiling;
}

/**
 * A resource's lifetime: `maxLifetimeMs` shortened by a random fraction up to `jitter`, never longer, so
 * resources created together do not expire together and all stay below a proxy's cut-off.
 */
export function jitteredLifetimeMs(
  maxLifetimeMs: number,
  jitter: number,
  random: () => number = Math.random,
): number {
  return maxLifetimeMs * (1 - jitter * random());
}
