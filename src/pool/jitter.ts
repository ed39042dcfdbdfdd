// The pool's randomness: a resource's jittered lifetime, and the create backoff (core's full jitter).
export { fullJitterMs as createBackoffMs } from '../core/backoff.js';

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
