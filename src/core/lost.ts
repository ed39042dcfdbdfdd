// The connection-lost vocabulary every layer shares: an error that means "the connection is gone" carries a
// mark saying how far the request got, and every classifier reads it without knowing which layer raised it.

const LOST = Symbol.for('lifeline-net.connection-lost');

/**
 * How far a request got on a connection that was lost:
 * - `not-sent`: nothing of it left (the connection never opened, or was known dead before the write);
 * - `sent`: it was written and no reply came;
 * - `if-marked`: the connection broke under it; only the caller knows whether it was written (execute's
 *   `attempt.markSent()`).
 */
export type LostRequest = 'not-sent' | 'sent' | 'if-marked';

/**
 * Marks `target` (an error, or an error class's prototype) as a lost connection; returns it. A frozen or
 * sealed object is returned unmarked.
 */
export function markLost<T extends object>(target: T, request: LostRequest): T {
  if (Object.isExtensible(target) || Object.hasOwn(target, LOST)) {
    Object.defineProperty(target, LOST, { value: request, configurable: true });
  }
  return target;
}

/** The mark {@link markLost} put on `error` or its class, or undefined when it is not a lost connection. */
export function lostRequest(error: unknown): LostRequest | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const request = (error as Record<symbol, unknown>)[LOST];
  return request === 'not-sent' || request === 'sent' || request === 'if-marked' ? request : undefined;
}
