// The pool's counters as the public snapshot (PoolStats), eviction reasons, and the state summary errors carry.
import { redact } from '../core/errors.js';

/** Why the pool destroyed a resource; the `evict` event and `stats().evicted` use these. */
export type EvictReason =
  /** Found dead: `alive()` false, `onDeath` fired, or the event-loop turn before handout revealed it. */
  | 'dead'
  /** `ping()` failed or timed out, before handout or as an idle keepalive. */
  | 'ping-failed'
  /** Idle longer than `idleTimeoutMs` while the pool held more than `min`. */
  | 'idle-timeout'
  /** Older than its jittered `maxLifetimeMs`. */
  | 'lifetime'
  /** Released with `{ destroy: true }` or `{ error }`. */
  | 'released-destroy'
  /** Destroyed by `drain()`; `drain-timeout` when it was still lent out when the drain timed out. */
  | 'drain'
  | 'drain-timeout';

/** A snapshot of the pool. Counts are of resources; counters run from construction. */
export interface PoolStats {
  readonly state: 'open' | 'draining' | 'closed';
  readonly min: number;
  readonly max: number;
  /** Resources that exist: idle + busy + checking. */
  readonly total: number;
  readonly idle: number;
  /** Lent out to a caller. */
  readonly busy: number;
  /** Taken out of the idle list for a pre-handout check or a keepalive ping. */
  readonly checking: number;
  /** Acquires waiting for a resource. */
  readonly waiting: number;
  readonly pendingCreates: number;
  /** Create failures in a row; while > 0 creates are spaced by exponential backoff. */
  readonly createFailuresInARow: number;
  readonly lastCreateError: Error | undefined;
  readonly acquired: number;
  readonly released: number;
  readonly created: number;
  readonly createErrors: number;
  readonly acquireTimeouts: number;
  readonly acquireAborts: number;
  readonly leaks: number;
  readonly evicted: Readonly<Record<EvictReason, number>>;
}

export function emptyEvictCounts(): Record<EvictReason, number> {
  return {
    dead: 0,
    'ping-failed': 0,
    'idle-timeout': 0,
    lifetime: 0,
    'released-destroy': 0,
    drain: 0,
    'drain-timeout': 0,
  };
}

/** The parenthesised state summary used in error messages; the create error's text is redacted. */
export function formatStats(s: PoolStats): string {
  const last = s.lastCreateError === undefined ? 'none' : redact(errorText(s.lastCreateError));
  const checking = s.checking > 0 ? `, checking=${s.checking}` : '';
  return `(total=${s.total}, busy=${s.busy}, idle=${s.idle}${checking}, waiting=${s.waiting}, pendingCreates=${s.pendingCreates}, lastCreateError=${last})`;
}

function errorText(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${code}: ${error.message}`
    : error.message;
}
