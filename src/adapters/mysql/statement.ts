// pool.query and pool.execute of lifeline-net/mysql: one statement through exec (deadline, retries of what is
// safe), safe reads by session mode, the 1792 re-run, read-only failover, KILL QUERY at the deadline, the
// pool's admission rules (waitForConnections, queueLimit) and pool.query's Query object (query-command.ts).
import { InvalidOptionError, MAX_TIMER_MS } from '../../core/options.js';
import {
  type Attempt,
  type Classification,
  DeadlineExceededError,
  type Executor,
  executor,
  OutcomeUnknownError,
  RetryBudget,
} from '../../exec/index.js';
import type { Pool as CorePool } from '../../pool/index.js';
import { classifyMysql } from '../../protocols/mysql.js';
import { type MysqlError, type RawConnection, stateOf } from './connection.js';
import { DirectQueue, type DirectRunner, DirectStatement } from './direct.js';
import { MysqlNoConnectionsError, MysqlPoolClosedError, MysqlQueueLimitError, typedLoss } from './errors.js';
import type { ResolvedMysqlOptions } from './options.js';
import { type Done, deliver, type PromiseSink } from './promise-pool.js';
import { type QueryCommand, QueryRun } from './query-command.js';
import {
  ER_READ_ONLY_TRANSACTION,
  looksLikeMysqlRead,
  READ_ONLY_HOST,
  SET_READ_ONLY,
  SET_READ_WRITE,
} from './reads.js';
import { killQuery, type SideFactory } from './side.js';

type Callback = (err: MysqlError | null, rows?: unknown, fields?: unknown) => void;
const noop = (): void => {};
const FINAL: Classification = Object.freeze({ kind: 'rejected', transient: false });

/** Statement options lifeline reads (the rest go to mysql2 unchanged): `timeout` is the deadline, `idempotent` allows a retry. */
interface StatementOptions {
  sql: string;
  values?: unknown;
  timeout?: number;
  idempotent?: boolean;
  [key: string]: unknown;
}

/**
 * Read-only host errors mean the server refused the statement (retry on a writable host); a deadline and an
 * OutcomeUnknownError lifeline raised itself are final; the rest is classifyMysql's.
 */
function classifyAttempt(error: unknown, sent: boolean): Classification {
  if (
    error instanceof DeadlineExceededError ||
    error instanceof OutcomeUnknownError ||
    error instanceof MysqlNoConnectionsError ||
    error instanceof MysqlQueueLimitError ||
    QueryRun.isFinal(error)
  ) {
    return FINAL;
  }
  const errno = (error as MysqlError | undefined)?.errno;
  if (typeof errno === 'number' && (READ_ONLY_HOST.has(errno) || errno === ER_READ_ONLY_TRANSACTION)) {
    return { kind: 'rejected', transient: true };
  }
  return classifyMysql(error, sent);
}

/** What the statement runner needs of its pool. */
export interface StatementContext {
  core: CorePool<RawConnection>;
  lifeline: ResolvedMysqlOptions;
  side: SideFactory;
  /** A read-only error from `host`: retire its connections, move to the next host. */
  failover(host: string): void;
  closed(): boolean;
  /** Gives a statement's connection back (a dead or retired one is destroyed; resetOnRelease resets it). */
  release(conn: RawConnection): void;
  /** mysql2's pool admission (waitForConnections: false, queueLimit): the error to fail with now, if any. */
  refuse(): Error | undefined;
  /** Whether refuse() can refuse at all (waitForConnections: false or a queueLimit). */
  gated: boolean;
  /** mysql2's `Connection.createQuery` with the pool's connection config. */
  createQuery(sql: unknown, values: unknown, cb: Callback | undefined): QueryCommand;
}

/** Runs pool.query/pool.execute statements under exec's policies, compiled once per pool. */
export class StatementRunner {
  private readonly executors: { default: Executor; idempotent: Executor; once: Executor };
  /** The first attempts that run on callbacks (direct.ts). */
  private readonly direct: DirectQueue;

  constructor(private readonly ctx: StatementContext) {
    const runner: DirectRunner = {
      core: ctx.core,
      createQuery: ctx.createQuery,
      gated: ctx.gated,
      refuse: ctx.refuse,
      failover: ctx.failover,
      release: ctx.release,
      later: (s, attempt) =>
        this.attempt(s.kind, s.statement as string | StatementOptions, s.values, s.read, attempt, s.query),
    };
    this.direct = new DirectQueue(runner);
    const { lifeline } = ctx;
    const base = {
      deadlineMs: lifeline.queryDeadlineMs ?? MAX_TIMER_MS,
      retry: { maxAttempts: lifeline.maxRetries + 1, baseDelayMs: lifeline.retryBackoffMs },
      budget: new RetryBudget(),
      classify: classifyAttempt,
    };
    this.executors = {
      default: executor({ ...base, idempotent: lifeline.idempotent }),
      idempotent: executor({ ...base, idempotent: true }),
      once: executor({ ...base, idempotent: false }),
    };
  }

  /** The last text looksLikeRead saw, and its answer: a pool mostly runs the same constant texts again. */
  private lastText = '';
  private lastRead = false;

  /** looksLikeMysqlRead, remembered for the last text (the same string again compares in O(1)). */
  private looksLikeRead(text: string): boolean {
    if (text === this.lastText) return this.lastRead;
    const read = looksLikeMysqlRead(text);
    // A long text (a bulk INSERT) is not kept alive for this.
    if (text.length <= 4096) {
      this.lastText = text;
      this.lastRead = read;
    }
    return read;
  }

  /**
   * Runs one statement; for 'query' returns mysql2's Query command the caller can listen to (else undefined).
   * `sink` (the promise pool): the outcome settles the caller's promise, and no Query command is made for the
   * caller, who never sees one; mysql2 makes the attempt's own when it is sent, as for execute.
   */
  run(
    kind: 'query' | 'execute',
    sqlArg: unknown,
    valuesArg: unknown,
    cbArg: unknown,
    sink?: PromiseSink,
  ): QueryCommand | undefined {
    let values = valuesArg;
    let cb = cbArg as Callback | undefined;
    if (typeof values === 'function') {
      cb = values as Callback;
      values = undefined;
    }
    const userCb = typeof cb === 'function' ? cb : undefined;
    const done: Done = sink ?? userCb ?? noop;
    let statement: string | StatementOptions;
    let deadlineMs: number | undefined;
    let declared: boolean | undefined;
    let text: string;
    if (typeof sqlArg === 'string') {
      statement = sqlArg;
      text = sqlArg;
    } else if (
      typeof sqlArg === 'object' &&
      sqlArg !== null &&
      typeof (sqlArg as StatementOptions).sql === 'string'
    ) {
      const { timeout, idempotent, ...rest } = sqlArg as StatementOptions;
      statement = rest as StatementOptions;
      text = rest.sql;
      if (values === undefined && rest.values !== undefined) values = rest.values;
      if (typeof timeout === 'number' && timeout > 0) deadlineMs = timeout;
      declared = idempotent;
    } else {
      const error = new InvalidOptionError(
        `lifeline-net/mysql pool.${kind}`,
        'sql',
        'must be a string or an object with a string `sql`',
        sqlArg,
        { argument: true },
      );
      process.nextTick(() => deliver(done, error));
      return undefined;
    }
    let query: QueryRun | undefined;
    if (kind === 'query' && sink === undefined) {
      query = new QueryRun(this.ctx.createQuery(statement, values, userCb), userCb);
    }
    if (this.ctx.closed()) {
      const closed = new MysqlPoolClosedError();
      process.nextTick(() => (query === undefined ? deliver(done, closed) : query.done(closed)));
      return query?.command;
    }
    const read = this.ctx.lifeline.safeReads && this.looksLikeRead(text);
    const run =
      declared === true || read
        ? this.executors.idempotent
        : declared === false
          ? this.executors.once
          : this.executors.default;
    // No deadline and nothing else exec must put around an attempt: the first one runs on callbacks.
    if (deadlineMs === undefined && run.bare()) {
      this.direct.add(new DirectStatement(this.direct, run, kind, statement, values, read, query, done));
      return query?.command;
    }
    run(
      (attempt) => this.attempt(kind, statement, values, read, attempt, query),
      deadlineMs === undefined ? undefined : { deadlineMs },
    ).then(
      (answer) =>
        query === undefined
          ? deliver(done, null, answer[0], answer[1])
          : query.done(null, answer[0], answer[1]),
      (error: MysqlError) => (query === undefined ? deliver(done, error) : query.done(error)),
    );
    return query?.command;
  }

  private attempt(
    kind: 'query' | 'execute',
    statement: string | StatementOptions,
    values: unknown,
    read: boolean,
    attempt: Attempt,
    query: QueryRun | undefined,
  ): Promise<[unknown, unknown]> {
    const refused = this.ctx.refuse();
    if (refused !== undefined) return Promise.reject(refused);
    // No options unless the deadline is nearer than the acquire timeout: the core pool's fast path.
    const left = attempt.timeLeftMs();
    const acquired =
      left >= this.ctx.lifeline.acquireTimeoutMs
        ? this.ctx.core.acquire()
        : this.ctx.core.acquire({ timeoutMs: Math.max(1, left) });
    // One promise for the attempt, settled from runOn: returning runOn's own promise from a then() callback
    // would cost a promise and two more microtask turns per statement (thenable adoption).
    return new Promise((resolve, reject) => {
      acquired.then((conn) => {
        try {
          this.runOn(conn, kind, statement, values, read, attempt, query, resolve, reject);
        } catch (error) {
          reject(error);
        }
      }, reject);
    });
  }

  /** Gives a statement's connection back; a dead or retired one is destroyed. */
  private release(conn: RawConnection): void {
    this.ctx.release(conn);
  }

  private runOn(
    conn: RawConnection,
    kind: 'query' | 'execute',
    statement: string | StatementOptions,
    values: unknown,
    read: boolean,
    attempt: Attempt,
    query: QueryRun | undefined,
    resolve: (answer: [unknown, unknown]) => void,
    reject: (error: unknown) => void,
  ): void {
    const state = stateOf(conn);
    if (state === undefined) throw new TypeError('lifeline-net/mysql: a connection without state');
    let answered = false;
    let abandoned = false;
    let sent = false;
    let rerun = false;
    /** The KILL QUERY of an abandoned statement, settled once it ran (it never rejects). */
    let killing: Promise<void> | undefined;
    attempt.onAbort(() => {
      if (answered) return;
      abandoned = true;
      // The statement may be running on the server: end it there, then the late answer gives the
      // connection back, once the kill has run. A kill that fails leaves the session unfit.
      const threadId = conn.threadId;
      if (sent && threadId !== null) {
        killing = killQuery(this.ctx.side, threadId).then(
          (ok) => {
            if (!ok) state.retire = true;
          },
          () => {
            state.retire = true;
          },
        );
      }
    });
    const send = () => {
      const madeReadOnly = state.readOnly;
      // mysql2 can call a command's callback twice (a fatal network error, then the socket's close: seen in
      // the soak as a second release() throwing InvalidReleaseError uncaught): only the first call counts.
      let called = false;
      const answer = (err: MysqlError | null, rows?: unknown, fields?: unknown): void => {
        if (called) return;
        called = true;
        answered = true;
        if (abandoned) {
          // The answer can beat the KILL to the server: given back now, the connection could run the next
          // statement when the KILL lands, and that caller would meet ER_QUERY_INTERRUPTED (seen in the soak).
          if (killing === undefined) this.release(conn);
          else killing.then(() => this.release(conn));
          return;
        }
        if (err === null) {
          this.release(conn);
          resolve([rows, fields]);
          return;
        }
        if (err.errno === ER_READ_ONLY_TRANSACTION && madeReadOnly && !rerun) {
          // A write taken for a read: refused before it changed anything. Run it again read-write, once;
          // from now on it is what it is, a statement whose loss leaves its outcome unknown.
          rerun = true;
          answered = false;
          state.readOnly = false;
          conn.query(SET_READ_WRITE, undefined, () => {});
          send();
          return;
        }
        if (
          err.errno !== undefined &&
          (READ_ONLY_HOST.has(err.errno) || err.errno === ER_READ_ONLY_TRANSACTION)
        ) {
          state.retire = true;
          this.ctx.failover(state.host);
        }
        this.release(conn);
        const lost = err.fatal === true || classifyMysql(err, true).kind === 'outcome-unknown';
        // A broken connection reaches exec typed (MysqlConnectionLostError), so that the caller meets a typed
        // error also when the retries run out (a raw PROTOCOL_CONNECTION_LOST did, in the soak).
        reject(
          rerun && lost
            ? new OutcomeUnknownError(attempt.number, err)
            : typedLoss(err, state.host, sent, madeReadOnly),
        );
      };
      try {
        if (query === undefined) conn[kind](statement, values, answer);
        else query.send(conn, statement, values, answer, this.ctx.createQuery);
      } catch (error) {
        // mysql2 throws before sending for arguments it refuses (execute's values not an array): the
        // connection goes back, or it would stay lent for good.
        answer(error as MysqlError);
      }
    };
    if (read !== state.readOnly) {
      state.readOnly = read;
      conn.query(read ? SET_READ_ONLY : SET_READ_WRITE, undefined, (err) => {
        if (err !== null) state.retire = true;
        // mysql2 writes the statement queued behind the switch once the switch answered, even with an error
        // the server sent: only a fatal error (the connection is gone, the queue failed) keeps it unsent.
        if (err === null || err.fatal !== true) {
          sent = true;
          attempt.markSent();
        }
      });
    } else {
      sent = true;
      attempt.markSent();
    }
    send();
  }
}
