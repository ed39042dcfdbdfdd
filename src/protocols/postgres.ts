// Postgres: what a SQLSTATE means for the statement (may it run again?) and for the connection (keep it?).
// Codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
import {
  type Classification,
  classifyLost,
  classifyNetwork,
  connectionLost,
  NOT_SENT,
  REJECTED_TRANSIENT,
} from '../exec/classify/classification.js';

// The server rolled back or refused the whole statement, so running it again applies it at most once:
// 57P01 admin_shutdown (pg_terminate_backend, fast shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now
// (starting up or in recovery), 40001 serialization_failure, 40P01 deadlock_detected, 53300 too_many_connections.
const TRANSIENT = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300']);
// 08001 sqlclient_unable_to_establish_sqlconnection and 08004 sqlserver_rejected_establishment: the session
// never existed, so no statement can have been sent.
const NEVER_ESTABLISHED = new Set(['08001', '08004']);

/**
 * Classifier for node-postgres (and anything raising errors with a SQLSTATE `code`). Only for statements
 * outside an explicit transaction: a transaction that lost its connection is lost as a whole.
 */
export function classifyPostgres(error: unknown, sent: boolean): Classification {
  const lost = classifyLost(error, sent);
  if (lost !== undefined) return lost;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.length === 5) {
    if (TRANSIENT.has(code)) return REJECTED_TRANSIENT;
    if (NEVER_ESTABLISHED.has(code)) return NOT_SENT;
    // Other 08xxx connection_exception codes: the connection broke; what the server saw depends on markSent.
    if (code.startsWith('08')) return connectionLost(sent);
  }
  const message = error instanceof Error ? error.message : '';
  // pg refuses to send on a client that already saw a connection error: nothing left this time.
  if (message.includes('not queryable') || message.includes('Client was closed')) return NOT_SENT;
  if (message.includes('timeout') && message.includes('connect')) return NOT_SENT;
  return classifyNetwork(error, sent);
}

/** The server error's SQLSTATE, when the error came from the server (pg's DatabaseError). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // pg's DatabaseError carries `severity`; Node's socket errors carry `code` too (ECONNRESET), so both are checked.
  return typeof code === 'string' && typeof severity === 'string' && code.length === 5 ? code : undefined;
}

/**
 * Whether a connection that saw `code` must be retired (a different question from whether the statement may
 * run again: 40001 is retried and keeps the session). The session is gone or about to go: 57P01
 * admin_shutdown (pg_terminate_backend, smart/fast shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up / recovery), and every 08xxx connection_exception.
 */
export function retiresConnection(code: string | undefined): boolean {
  return (
    code !== undefined && (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08'))
  );
}
