import type { LifelineError } from '../core/errors.js';

/**
 * The one state of a connection, derived from events of both directions:
 * `connecting → open → (peer-closed | closing) → closed`. A peer FIN is a state of its own, not hidden
 * by an automatic end, because that is exactly what incident 1's `is_connected()` flag missed.
 */
export type LiveState = 'connecting' | 'open' | 'peer-closed' | 'closing' | 'closed';

/** Every cause of death, for checking one given at run time. */
export const deathCauses = [
  'peer-fin',
  'reset',
  'write-stall',
  'read-timeout',
  'keepalive',
  'user-timeout',
  'heartbeat',
  'idle-data',
  'local-close',
  'connect-failed',
  'error',
] as const;

export type DeathCause = (typeof deathCauses)[number];

/** Why and when a connection stopped being usable. Recorded once: the first cause wins. */
export interface Death {
  cause: DeathCause;
  /** `Date.now()` when the death was observed. */
  at: number;
  error: LifelineError | undefined;
}

/** Every allowed transition. Anything else is a bug in LiveSocket, and throws. */
export const transitions: Readonly<Record<LiveState, readonly LiveState[]>> = {
  connecting: ['open', 'closed'],
  open: ['peer-closed', 'closing', 'closed'],
  'peer-closed': ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

export function canTransition(from: LiveState, to: LiveState): boolean {
  return transitions[from].includes(to);
}
