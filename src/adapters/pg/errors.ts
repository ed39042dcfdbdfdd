// lifeline-net/pg's errors: a lost connection, transaction or reply, a failed connect, an unusable Client
// class.
import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';
import { markLost } from '../../core/lost.js';
import { AcquireTimeoutError } from '../../pool/index.js';

/**
 * The connection under a query was already dead when the query was to be written, so the server never saw
 * it: always safe to run again (pool.query does so transparently; a checked-out client is yours to replace).
 */
export class PgConnectionLostError extends LifelineError {
  readonly host: string;

  constructor(host: string, cause: unknown) {
    super(
      'LIFELINE_PG_CONNECTION_LOST',
      `connection to ${host} was lost before the query was sent, so it was not executed (${describe(cause)}); ` +
        'run it again on another connection (pool.query does so itself)',
      { cause },
    );
    this.host = host;
  }
}
brand(PgConnectionLostError, 'PgConnectionLostError');
markLost(PgConnectionLostError.prototype, 'not-sent');

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
brand(PgTransactionLostError, 'PgTransactionLostError');

/**
 * The connection died under a statement that ran on a read-only session (safe reads, docs/pg.md): whether
 * or not the server saw it, it changed nothing, so it is safe to run again (pool.query does; a checked-out
 * client runs it again on another pooled connection).
 */
export class PgReadLostError extends LifelineError {
  readonly host: string;

  constructor(host: string, cause: unknown) {
    super(
      'LIFELINE_PG_READ_LOST',
      `connection to ${host} was lost under a read that ran on a read-only session, so it changed nothing ` +
        `(${describe(cause)}); run it again (pool.query does so itself)`,
      { cause },
    );
    this.host = host;
  }
}
brand(PgReadLostError, 'PgReadLostError');

// Changed nothing, whether or not the server saw it: as safe to run again as a statement never sent.
markLost(PgReadLostError.prototype, 'not-sent');

/**
 * The reply to a statement never came and the server says it is not working on it (reply verification,
 * docs/pg.md): a middlebox lost the request or the reply. lifeline retired the connection. `neverReceived`:
 * the server had been idle since before the statement was sent, so it never ran.
 */
export class PgReplyLostError extends LifelineError {
  readonly host: string;
  readonly neverReceived: boolean;

  constructor(host: string, neverReceived: boolean, serverState: string) {
    super(
      'LIFELINE_PG_REPLY_LOST',
      `no reply from ${host}, and the server reports the session ${serverState}: ` +
        (neverReceived
          ? 'the statement never reached it (a proxy or the network lost it) and the connection was closed; run it ' +
            'again, it is safe'
          : 'the reply was lost on the way back (the statement may have run) and the connection was closed; ' +
            'check whether it took effect before running it again'),
    );
    this.host = host;
    this.neverReceived = neverReceived;
  }
}
brand(PgReplyLostError, 'PgReplyLostError');

/** No host in the list accepted a connection matching target_session_attrs. */
export class PgNoHostError extends LifelineError {
  constructor(tried: string, targetSessionAttrs: string, cause: unknown) {
    super(
      'LIFELINE_PG_NO_HOST',
      `no host accepted a connection with target_session_attrs=${targetSessionAttrs} (tried ${tried}): ` +
        `${describe(cause)}; check that a host with that role is up, or relax target_session_attrs`,
      { cause },
    );
  }
}
brand(PgNoHostError, 'PgNoHostError');

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return redact(typeof code === 'string' ? `${code}: ${error.message}` : error.message);
  }
  return redact(String(error));
}

/**
 * New connections fail and waiting will not fix it, so the callers waiting for a client get the failure
 * instead of waiting out their timeout: either retrying cannot help (`final`: authentication 28xxx, unknown
 * database 3D000, unknown host, TLS, bad options, a Client class lifeline cannot watch), or connections have
 * kept failing for longer than `lifeline.connectRetryMs`. `cause` is pg's (or Node's) error, unchanged.
 */
export class PgConnectError extends LifelineError {
  /** True when retrying cannot fix the cause; false when a transient failure outlasted connectRetryMs. */
  readonly final: boolean;

  constructor(cause: unknown, final: boolean, failingForMs: number) {
    super(
      'LIFELINE_PG_CONNECT_FAILED',
      final
        ? `could not connect to Postgres, and retrying cannot fix it: ${describe(cause)}. Fix the configuration ` +
            'or the server (credentials, database name, host, TLS settings)'
        : `could not connect to Postgres for ${Math.round(failingForMs)} ms, longer than lifeline.connectRetryMs ` +
            `rides out: ${describe(cause)}. Check that the server is up and reachable`,
      { cause },
    );
    this.final = final;
  }
}
brand(PgConnectError, 'PgConnectError');

/**
 * The `Client` class given to the pool connected nothing over the socket lifeline handed it (`stream`):
 * pg-native, a patched Client, or one whose connect() resolves without connecting. lifeline cannot watch such
 * a connection; pass pg's own Client (or a subclass that keeps its connect()).
 */
export class PgUnsupportedClientError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_PG_UNSUPPORTED_CLIENT',
      'Client.connect() resolved but the socket lifeline-net/pg gave the client (config.stream) never connected: ' +
        "the Client class does not connect through pg's stream option (pg-native, or a patched Client). Use " +
        "pg's own Client, or a subclass that keeps its connect()",
    );
  }
}
brand(PgUnsupportedClientError, 'PgUnsupportedClientError');

/** pg.Pool's text for a connect that timed out, which applications match on; lifeline's own text follows it. */
export const PG_CONNECT_TIMEOUT = 'timeout exceeded when trying to connect';

/**
 * pg.Pool's "timeout exceeded when trying to connect" leads the message of an acquire that timed out, so code
 * that matches on pg's text keeps working; lifeline's class, code (LIFELINE_ACQUIRE_TIMEOUT), pool state and
 * cause (the last connect error) stay.
 */
export function withPgWording(error: unknown): unknown {
  if (error instanceof AcquireTimeoutError && !error.message.startsWith(PG_CONNECT_TIMEOUT)) {
    error.message = `${PG_CONNECT_TIMEOUT}: ${error.message}`;
  }
  return error;
}
