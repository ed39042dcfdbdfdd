import { LifelineError, redact } from '../../errors.js';

/**
 * The connection under a query was already dead when the query was to be written, so the server never saw
 * it: always safe to run again (pool.query does so transparently; a checked-out client is yours to replace).
 */
export class PgConnectionLostError extends LifelineError {
  readonly host: string;

  constructor(host: string, cause: unknown) {
    super(
      'LIFELINE_PG_CONNECTION_LOST',
      `connection to ${host} was lost before the query was sent; it was not executed (${describe(cause)})`,
      { cause },
    );
    this.host = host;
  }
}

/**
 * The connection of a checked-out client died while a transaction was open. The server rolls back an
 * open transaction when its session ends; if COMMIT itself was in flight, its outcome is unknown.
 */
export class PgTransactionLostError extends LifelineError {
  readonly host: string;

  constructor(host: string, cause: unknown) {
    super(
      'LIFELINE_PG_TRANSACTION_LOST',
      `the transaction was lost: connection to ${host} died inside a transaction (after BEGIN). ` +
        'The server rolls back an uncommitted transaction (if COMMIT was in flight its outcome is unknown); ' +
        `lifeline never retries a transaction: run it again from BEGIN on a new client (${describe(cause)})`,
      { cause },
    );
    this.host = host;
  }
}

/** No host in the list accepted a connection matching target_session_attrs. */
export class PgNoHostError extends LifelineError {
  constructor(tried: string, targetSessionAttrs: string, cause: unknown) {
    super(
      'LIFELINE_PG_NO_HOST',
      `no host accepted a connection with target_session_attrs=${targetSessionAttrs} (tried ${tried}): ${describe(cause)}`,
      { cause },
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return redact(typeof code === 'string' ? `${code}: ${error.message}` : error.message);
  }
  return redact(String(error));
}
