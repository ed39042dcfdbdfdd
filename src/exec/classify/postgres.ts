import {
  type Classification,
  classifyNetwork,
  connectionLost,
  NOT_SENT,
  REJECTED_TRANSIENT,
} from './classification.js';

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
