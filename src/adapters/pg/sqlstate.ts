/**
 * What a Postgres error means for the connection it arrived on: keep it or retire it. Whether the statement
 * may run again is a different question, answered by exec's classifyPostgres (40001 is retried and keeps the
 * session; 08004 ends a session that never existed). Codes:
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */

/** The server error's SQLSTATE, when the error came from the server (pg's DatabaseError). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  // pg's DatabaseError carries `severity`; Node's socket errors carry `code` too (ECONNRESET), so both are checked.
  return typeof code === 'string' && typeof severity === 'string' && code.length === 5 ? code : undefined;
}

/**
 * The session is gone or about to go: 57P01 admin_shutdown (pg_terminate_backend, smart/fast shutdown),
 * 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up / recovery), and every 08xxx
 * connection_exception. A connection that saw one must never be reused.
 */
export function retiresConnection(code: string | undefined): boolean {
  return (
    code !== undefined && (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08'))
  );
}
