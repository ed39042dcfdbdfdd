// lifeline-net/mysql's errors: a connect that cannot succeed, a reply the server's own view says was lost,
// a closed pool, a full pool that may not queue (waitForConnections: false, queueLimit).
import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';
import { markLost } from '../../core/lost.js';

function describe(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return redact(text);
}

/**
 * Opening a connection failed in a way waiting will not fix (wrong password, unknown database, unknown
 * host), or kept failing for the whole of `lifeline.connectRetryMs`. The driver's error is the cause.
 */
export class MysqlConnectError extends LifelineError {
  readonly host: string;

  constructor(host: string, cause: unknown) {
    super(
      'LIFELINE_MYSQL_CONNECT',
      `could not connect to MySQL at ${host}: ${describe(cause)}. Check the host, port, user, password and ` +
        'database in the pool config, and that the server is up',
      { cause },
    );
    this.host = host;
  }
}
brand(MysqlConnectError, 'MysqlConnectError');

/**
 * The reply to a statement went silent and the server, asked on a separate connection
 * (information_schema.processlist), said it is not running it: its session is gone, or idle (Sleep). The
 * connection is closed. Never "not received": an idle session (`sessionIdle`, even idle since before the
 * statement was sent) only says the server has not read the statement yet — a middlebox (a proxy, a slow or
 * sliced link) may still hold its bytes and deliver them afterwards, so the statement may still run. Marked
 * 'if-marked': a statement lifeline had not written yet (queued behind the session's read-only switch, no
 * markSent) is not sent and is retried; one written is sent, so only a read (run in a read-only session) or a
 * statement declared idempotent is retried, any other ends in OutcomeUnknownError with this error as cause.
 */
export class MysqlReplyLostError extends LifelineError {
  /** The server showed the session idle (Sleep); false: the session was gone. */
  readonly sessionIdle: boolean;
  /**
   * Always false: lifeline never concludes from the session's idle time that the server never received the
   * statement, because bytes held on the way may still arrive. Kept for code that read it.
   * @deprecated read `sessionIdle`, and treat the statement's outcome as unknown.
   */
  readonly neverReceived = false;

  constructor(host: string, sessionIdle: boolean, detail: string) {
    super(
      'LIFELINE_MYSQL_REPLY_LOST',
      `the reply from the MySQL server at ${host} did not come (${detail}); the connection was closed and ` +
        (sessionIdle
          ? 'the statement may still be held on the way and run later, or may have run already; '
          : 'the statement may or may not have been applied; ') +
        'check whether it took effect before running it again (reads and statements declared idempotent are ' +
        'retried by lifeline)',
    );
    this.sessionIdle = sessionIdle;
    // Never 'not-sent' from the server's view: whether the statement's bytes left the client is the attempt's
    // markSent() alone (written: it may still run, whatever the session's idle time says).
    markLost(this, 'if-marked');
  }
}
brand(MysqlReplyLostError, 'MysqlReplyLostError');

/** The pool was ended: no connection is lent and no statement runs any more (mysql2 says 'Pool is closed.'). */
export class MysqlPoolClosedError extends LifelineError {
  constructor() {
    super('LIFELINE_MYSQL_POOL_CLOSED', 'Pool is closed. The pool was ended with end(); create a new pool');
  }
}
brand(MysqlPoolClosedError, 'MysqlPoolClosedError');

/**
 * `waitForConnections: false` and every connection is in use: mysql2's pool fails at once with this text
 * instead of queueing the caller.
 */
export class MysqlNoConnectionsError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_MYSQL_NO_CONNECTIONS',
      'No connections available. Every connection of the pool is in use and waitForConnections is false: ' +
        'try again later, raise connectionLimit, or set waitForConnections: true to wait in the queue',
    );
  }
}
brand(MysqlNoConnectionsError, 'MysqlNoConnectionsError');

/** `queueLimit` callers already wait for a connection: mysql2's pool refuses the next one with this text. */
export class MysqlQueueLimitError extends LifelineError {
  readonly queueLimit: number;

  constructor(queueLimit: number) {
    super(
      'LIFELINE_MYSQL_QUEUE_LIMIT',
      `Queue limit reached. ${queueLimit} callers already wait for a connection (queueLimit): try again ` +
        'later, raise connectionLimit or queueLimit (0 = no limit)',
    );
    this.queueLimit = queueLimit;
  }
}
brand(MysqlQueueLimitError, 'MysqlQueueLimitError');
