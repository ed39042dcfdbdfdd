// The classification model (what the server may have seen of a failed attempt) and the network classifier
// every protocol's classifier falls back to.
import { lostRequest } from '../../core/lost.js';

/**
 * What the server may have seen of a failed attempt, which decides whether running it again is safe:
 * - `not-sent`: no byte of this attempt left, so the server saw nothing: always safe to retry;
 * - `outcome-unknown`: sent, and the connection was lost before a reply: it may have been applied, so it is
 *   retried only for idempotent operations;
 * - `rejected`: the server answered with an error: retried only when `transient` (e.g. a deadlock victim).
 */
export type Classification =
  | { readonly kind: 'not-sent' }
  | { readonly kind: 'outcome-unknown' }
  | { readonly kind: 'rejected'; readonly transient: boolean; readonly retryAfterMs?: number };

/** `sent` is whether `attempt.markSent()` was called during the failed attempt. */
export type Classifier = (error: unknown, sent: boolean) => Classification;

// Shared frozen values: classifying allocates nothing on the common paths.
export const NOT_SENT: Classification = Object.freeze({ kind: 'not-sent' });
export const OUTCOME_UNKNOWN: Classification = Object.freeze({ kind: 'outcome-unknown' });
export const REJECTED_TRANSIENT: Classification = Object.freeze({ kind: 'rejected', transient: true });
export const REJECTED_FINAL: Classification = Object.freeze({ kind: 'rejected', transient: false });

// Errors that mean the connection failed, not that the server refused the request.
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_WRITE_AFTER_END',
]);
// Refused or unresolvable: the connection never opened, so nothing can have been sent whatever markSent said.
const NEVER_CONNECTED_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A connection that broke during the attempt: the server saw the request only if it was sent. */
export function connectionLost(sent: boolean): Classification {
  return sent ? OUTCOME_UNKNOWN : NOT_SENT;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** True for errors that say the connection was refused, reset, closed or timed out. */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /connection (terminated|closed|lost|reset)|socket hang up|other side closed|read ECONNRESET/i.test(
    message,
  );
}

/**
 * An error marked as a lost connection (core/lost.ts: LiveSocket's deaths, adapters' lost connections), by how
 * far its request got; undefined for any other error. Every classifier asks this first.
 */
export function classifyLost(error: unknown, sent: boolean): Classification | undefined {
  const request = lostRequest(error);
  if (request === undefined) return undefined;
  return request === 'if-marked' ? connectionLost(sent) : request === 'sent' ? OUTCOME_UNKNOWN : NOT_SENT;
}

/**
 * The default classifier, for any protocol: an error marked lost by how far its request got; another connection error is `not-sent` when the connection never
 * opened or `markSent()` was not called in the attempt, else `outcome-unknown`; anything else is an answer
 * from the server (or a bug in the operation) and is not retried.
 */
export function classifyNetwork(error: unknown, sent: boolean): Classification {
  const lost = classifyLost(error, sent);
  if (lost !== undefined) return lost;
  if (!isConnectionError(error)) return REJECTED_FINAL;
  const code = codeOf(error);
  if (typeof code === 'string' && NEVER_CONNECTED_CODES.has(code)) return NOT_SENT;
  return connectionLost(sent);
}
