// Which idle resource the pool's next acquire takes: a hint an adapter gives before acquiring. Kept apart from
// the pool's hot path (core.ts, pool.ts): it only reorders the idle list, and only when asked.
import type { PoolCore } from './core.js';
import type { Pool } from './pool.js';

/** How many idle resources a hint looks through at most. */
const SCAN_LIMIT = 32;

/**
 * Moves an idle resource that `wanted` accepts to where the pool's next acquire takes from (the back of the
 * idle list with `idleOrder: 'lifo'`, the front with 'fifo'), unless the one there already is accepted.
 * Changes no state, count or timer: the pool still decides everything else (its checks, lifetimes, waiters),
 * and an acquire that queues behind others is unaffected. lifeline-net/pg's safe reads use it so that a
 * statement takes an idle connection whose session is already in the mode it wants (no switch) when one
 * exists. Returns whether an accepted resource is now next. Allocates (a snapshot of the idle list) only when
 * the next one is not accepted.
 */
export function preferIdle<T>(pool: Pool<T>, wanted: (resource: T) => boolean): boolean {
  // The facade's state, read here so that the hot path stays as it is; a hint, so a pool without the
  // expected shape is left alone (test/pool/prefer.test.ts notices when it stops working).
  const core = (pool as unknown as { core: PoolCore<T> | undefined }).core;
  const idle = core?.idle;
  if (core === undefined || idle === undefined) return false;
  const n = idle.length;
  if (n === 0 || core.waiters.length > 0) return false;
  const lifo = core.lifo;
  const next = lifo ? idle.pop() : idle.shift();
  if (next === undefined) return false;
  let found: typeof next | undefined;
  if (n > 1 && !wanted(next.resource)) {
    // Looked through from the taking end, as the pool would take them.
    const entries = idle.toArray();
    const last = entries.length - 1;
    for (let k = 0; k < Math.min(entries.length, SCAN_LIMIT); k++) {
      const entry = entries[lifo ? last - k : k];
      if (entry !== undefined && wanted(entry.resource)) {
        found = entry;
        break;
      }
    }
    if (found !== undefined) idle.remove(found);
  }
  // `next` back where it was, and the accepted one (if moved) in front of it.
  if (lifo) idle.push(next);
  else idle.unshift(next);
  if (found === undefined) return wanted(next.resource);
  if (lifo) idle.push(found);
  else idle.unshift(found);
  return true;
}
