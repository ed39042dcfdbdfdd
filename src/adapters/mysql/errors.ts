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
 * (information_schema.processlist), said it is not running it. `neverReceived`: the session sat idle since
 * before the statement was sent, so the server never saw it (safe to run again); otherwise the server ran
 * it and the reply was lost on the way (outcome unknown). The connection is closed either way.
 */
export class MysqlReplyLostError extends LifelineError {
  readonly neverReceived: boolean;

  constructor(host: string, neverReceived: boolean, detail: string) {
    super(
      'LIFELINE_MYSQL_REPLY_LOST',
      neverReceived
        ? `the statement never reached the MySQL server at ${host} (${detail}); the connection was closed and ` +
            'the statement was not executed; run it again, it is safe'
        : `the reply from the MySQL server at ${host} was lost (${detail}); the connection was closed and the ` +
            'statement may or may not have been applied; check whether it took effect before running it again',
    );
    this.neverReceived = neverReceived;
    markLost(this, neverReceived ? 'not-sent' : 'sent');
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
