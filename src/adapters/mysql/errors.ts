// lifeline-net/mysql's errors: a connect that cannot succeed, a connection lost under a statement, a reply the
// server's own view says was lost, a closed pool, a full pool that may not queue (waitForConnections: false,
// queueLimit).
import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';
import { markLost } from '../../core/lost.js';
import { classifyMysql } from '../../protocols/mysql.js';
import { QueryRun } from './query-command.js';

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
 * The connection broke under a statement (mysql2's PROTOCOL_CONNECTION_LOST, a reset, a server gone away),
 * as pool.query/pool.execute's caller meets it once lifeline stopped retrying (maxRetries used up, or the
 * statement not safe to run again). `request` says how far it got: 'not-sent' (it never left: it did not
 * run), 'read' (it ran on a read-only session: it changed nothing), 'sent' (it may or may not have been
 * applied). The driver's error is the cause. Marked lost: 'sent' only when it was written.
 */
export class MysqlConnectionLostError extends LifelineError {
  readonly host: string;
  readonly request: 'not-sent' | 'read' | 'sent';

  constructor(host: string, request: 'not-sent' | 'read' | 'sent', cause: unknown) {
    super(
      'LIFELINE_MYSQL_CONNECTION_LOST',
      `the connection to the MySQL server at ${host} was lost under the statement (${describe(cause)}); ` +
        (request === 'not-sent'
          ? 'it was not sent, so it did not run: run it again'
          : request === 'read'
            ? 'it ran on a read-only session, so it changed nothing: run it again'
            : 'it may or may not have been applied: check whether it took effect before running it again'),
      { cause },
    );
    this.host = host;
    this.request = request;
    markLost(this, request === 'not-sent' ? 'not-sent' : 'sent');
  }
}
brand(MysqlConnectionLostError, 'MysqlConnectionLostError');

/**
 * `err` as pool.query/pool.execute's caller may meet it: a driver or socket error that means the connection
 * broke becomes MysqlConnectionLostError (`sent`: the statement was written; `readOnly`: it ran on a
 * read-only session); lifeline's own errors and the server's answers are returned as they are. Classified
 * the same way before and after: a raw 'not-sent' loss is marked not-sent, any other as sent.
 */
export function typedLoss(err: Error, host: string, sent: boolean, readOnly: boolean): Error {
  if (err instanceof LifelineError) return err;
  const kind = classifyMysql(err, sent).kind;
  if (kind === 'rejected') return err;
  const typed = new MysqlConnectionLostError(
    host,
    kind === 'not-sent' ? 'not-sent' : readOnly ? 'read' : 'sent',
    err,
  );
  // Rows of it already reached the caller (pool.query's events): it stays never run again.
  QueryRun.carryFinal(err, typed);
  return typed;
}

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
