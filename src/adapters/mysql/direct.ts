// pool.query/pool.execute's cheapest path: the first attempt on callbacks, without exec around it, when the
// executor is bare (no deadline, nobody tracing exec's attempts). A failure is handed to exec as its attempt 1.
import { type Executor, OutcomeUnknownError } from '../../exec/index.js';
import type { Pool as CorePool } from '../../pool/index.js';
import { classifyMysql } from '../../protocols/mysql.js';
import { type MysqlError, type RawConnection, stateOf } from './connection.js';
import { typedLoss } from './errors.js';
import { type Done, deliver } from './promise-pool.js';
import type { CreateQuery, QueryRun } from './query-command.js';
import { ER_READ_ONLY_TRANSACTION, READ_ONLY_HOST, SET_READ_ONLY, SET_READ_WRITE } from './reads.js';

/** What the direct path needs of the statement runner (statement.ts). */
export interface DirectRunner {
  readonly core: CorePool<RawConnection>;
  readonly createQuery: CreateQuery;
  /** mysql2's pool admission (waitForConnections: false, queueLimit): the error to fail with now, if any. */
  refuse(): Error | undefined;
  /** Whether refuse() can refuse at all (waitForConnections: false or a queueLimit): else it is not called. */
  readonly gated: boolean;
  /** A read-only error from `host`: retire its connections, move to the next host. */
  failover(host: string): void;
  /** Gives a statement's connection back (a dead or retired one is destroyed; resetOnRelease resets it). */
  release(conn: RawConnection): void;
  /** Attempt 2 and later, under exec (statement.ts's attempt). */
  later(
    statement: DirectStatement,
    attempt: Parameters<Parameters<Executor>[0]>[0],
  ): Promise<[unknown, unknown]>;
}

/**
 * The statements of one pool waiting for a connection on the direct path, oldest first, and as many acquires
 * pending in the core pool. The core pool decides when a connection is free; any waiting statement can run on
 * it, so the oldest does. Made once per pool: an acquire's reactions allocate no closure per statement. An
 * acquire that fails fails the oldest statement (the one that waited longest), as a FIFO queue would; that
 * failure is its attempt 1, and exec decides what follows.
 */
export class DirectQueue {
  private readonly waiting: DirectStatement[] = [];
  private readonly served = (conn: RawConnection): void =>
    (this.waiting.shift() as DirectStatement).lent(conn);
  private readonly refused = (error: unknown): void =>
    (this.waiting.shift() as DirectStatement).failed(error as MysqlError, false);

  constructor(readonly runner: DirectRunner) {}

  /** Runs `statement`'s first attempt; its outcome reaches `statement.finish`. */
  add(statement: DirectStatement): void {
    const refused = this.runner.gated ? this.runner.refuse() : undefined;
    if (refused !== undefined) {
      statement.failed(refused as MysqlError, false);
      return;
    }
    this.waiting.push(statement);
    this.runner.core.acquire().then(this.served, this.refused);
  }
}

/**
 * One pool.query/pool.execute whose first attempt runs on callbacks: the session's read-only switch when the
 * statement's kind changes, the send, the re-run read-write of a write taken for a read (1792), failover on a
 * read-only host, the connection back to the pool. A success records itself with the executor (the retry
 * budget); a failure goes to the executor as its attempt 1 (markSent() first when the statement left), which
 * classifies it and runs whatever retry is safe, exactly as if exec had run that attempt (docs/mysql.md).
 */
export class DirectStatement {
  private sent = false;
  private rerun = false;
  /** Sends made (2 after the 1792 re-run), and the last one whose answer counted. */
  private sends = 0;
  private answeredSends = 0;

  constructor(
    private readonly queue: DirectQueue,
    private readonly exec: Executor,
    readonly kind: 'query' | 'execute',
    readonly statement: unknown,
    readonly values: unknown,
    readonly read: boolean,
    readonly query: QueryRun | undefined,
    private readonly done: Done,
  ) {}

  lent(conn: RawConnection): void {
    const state = stateOf(conn);
    if (state === undefined) {
      this.failed(new TypeError('lifeline-net/mysql: a connection without state') as MysqlError, false);
      return;
    }
    if (this.read !== state.readOnly) {
      state.readOnly = this.read;
      conn.query(this.read ? SET_READ_ONLY : SET_READ_WRITE, undefined, (err: MysqlError | null) => {
        if (err !== null) state.retire = true;
        // mysql2 writes the statement queued behind the switch once the switch answered, even with an error
        // the server sent: only a fatal error (the connection is gone, the queue failed) keeps it unsent.
        if (err === null || err.fatal !== true) this.sent = true;
      });
    } else {
      this.sent = true;
    }
    this.send(conn);
  }

  private send(conn: RawConnection): void {
    const madeReadOnly = (stateOf(conn) as { readOnly: boolean }).readOnly;
    const number = ++this.sends;
    // The callback is written inline: a closure assigned to a name costs a `__name` call per statement
    // under tsx/esbuild's keepNames.
    try {
      if (this.query === undefined) {
        conn[this.kind](
          this.statement,
          this.values,
          (err: MysqlError | null, rows?: unknown, fields?: unknown) =>
            this.answered(number, conn, madeReadOnly, err, rows, fields),
        );
      } else {
        this.query.send(
          conn,
          this.statement,
          this.values,
          (err: MysqlError | null, rows?: unknown, fields?: unknown) =>
            this.answered(number, conn, madeReadOnly, err, rows, fields),
          this.queue.runner.createQuery,
        );
      }
    } catch (error) {
      // mysql2 throws before sending for arguments it refuses (execute's values not an array).
      this.answered(number, conn, madeReadOnly, error as MysqlError, undefined, undefined);
    }
  }

  private answered(
    send: number,
    conn: RawConnection,
    madeReadOnly: boolean,
    err: MysqlError | null,
    rows: unknown,
    fields: unknown,
  ): void {
    // mysql2 can call a command's callback twice (a fatal network error, then the socket's close): only the
    // first call of each send counts.
    if (send <= this.answeredSends) return;
    this.answeredSends = send;
    const runner = this.queue.runner;
    if (err === null) {
      runner.release(conn);
      this.exec.succeeded();
      this.finish(null, rows, fields);
      return;
    }
    const state = stateOf(conn) as NonNullable<ReturnType<typeof stateOf>>;
    if (err.errno === ER_READ_ONLY_TRANSACTION && madeReadOnly && !this.rerun) {
      // A write taken for a read: refused before it changed anything. Run it again read-write, once.
      this.rerun = true;
      state.readOnly = false;
      conn.query(SET_READ_WRITE, undefined, () => {});
      this.send(conn);
      return;
    }
    if (
      err.errno !== undefined &&
      (READ_ONLY_HOST.has(err.errno) || err.errno === ER_READ_ONLY_TRANSACTION)
    ) {
      state.retire = true;
      runner.failover(state.host);
    }
    runner.release(conn);
    const lost = err.fatal === true || classifyMysql(err, true).kind === 'outcome-unknown';
    this.failed(
      (this.rerun && lost
        ? new OutcomeUnknownError(1, err)
        : typedLoss(err, state.host, this.sent, madeReadOnly)) as MysqlError,
      this.sent,
    );
  }

  /** The first attempt failed (`sent`: the statement may have reached the server): exec takes it from here. */
  failed(error: MysqlError, sent: boolean): void {
    let first = true;
    this.exec((attempt) => {
      if (!first) return this.queue.runner.later(this, attempt);
      first = false;
      if (sent) attempt.markSent();
      return Promise.reject(error);
    }).then(
      (answer) => this.finish(null, answer[0], answer[1]),
      (failure: MysqlError) => this.finish(failure),
    );
  }

  private finish(err: MysqlError | null, rows?: unknown, fields?: unknown): void {
    if (this.query === undefined) deliver(this.done, err, rows, fields);
    else this.query.done(err, rows, fields);
  }
}
