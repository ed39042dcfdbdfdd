// pool.query's return value, as mysql2's pool gives it: mysql2's own Query command (an EventEmitter with
// 'fields', 'result', 'error' and 'end', and `.stream()`), kept whole across lifeline's attempts.
import type { EventEmitter } from 'node:events';
import { commandEnded, type MysqlError, type RawConnection } from './connection.js';

type Answer = (err: MysqlError | null, rows?: unknown, fields?: unknown) => void;

/** What lifeline touches of mysql2's Query command (lib/commands/query.js). */
export interface QueryCommand extends EventEmitter {
  sql: string;
  values: unknown;
  onResult: Answer | undefined;
  timeout: number | undefined;
  /** The connection it runs on: `.stream()` pauses and resumes it for backpressure. */
  _connection: RawConnection | null;
}

export type CreateQuery = (sql: unknown, values: unknown, cb: Answer | undefined) => QueryCommand;

// Errors after which the statement must not run again: rows of it already reached the caller.
const FINAL = new WeakSet<object>();

/**
 * One pool.query: the Query command handed to the caller, and how each attempt reaches it. With a callback,
 * the first attempt runs the command itself (mysql2's own path: no extra object), later ones run a fresh
 * command whose events are forwarded. Without a callback (events, `.stream()`), every attempt runs a fresh
 * command whose 'fields' and 'result' are forwarded; once a row has reached the caller the statement is
 * never run again, and a lost connection ends it with 'error' (mysql2's own command would wait forever).
 */
export class QueryRun {
  private sends = 0;

  constructor(
    readonly command: QueryCommand,
    private readonly cb: Answer | undefined,
  ) {
    // lifeline's deadline (KILL QUERY on the server) replaces mysql2's client-side timer.
    command.timeout = undefined;
  }

  /** Whether `error` ended a statement whose rows already reached the caller (never retried). */
  static isFinal(error: unknown): boolean {
    return typeof error === 'object' && error !== null && FINAL.has(error);
  }

  /** Marks `to` final as `from` is (a lost connection's typed error in place of the driver's). */
  static carryFinal(from: unknown, to: object): void {
    if (QueryRun.isFinal(from)) FINAL.add(to);
  }

  /** Sends one attempt of the statement on `conn`; `answer` is called once with its outcome. */
  send(conn: RawConnection, statement: unknown, values: unknown, answer: Answer, create: CreateQuery): void {
    const command = this.command;
    if (this.cb !== undefined) {
      if (this.sends++ === 0) {
        command.onResult = answer;
        conn.query(command, undefined, answer);
        return;
      }
      const inner = create(statement, values, answer);
      if (command.listenerCount('fields') > 0) inner.on('fields', (f) => command.emit('fields', f));
      if (command.listenerCount('result') > 0) inner.on('result', (r, i) => command.emit('result', r, i));
      conn.query(inner, undefined, answer);
      return;
    }
    this.sends++;
    const inner = create(statement, values, undefined);
    command._connection = conn;
    let settled = false;
    let forwarded = false;
    let failure: MysqlError | null = null;
    const settle = (err: MysqlError | null): void => {
      if (settled) return;
      settled = true;
      conn.removeListener('error', onConnectionError);
      if (err !== null && forwarded && typeof err === 'object') FINAL.add(err);
      answer(err);
    };
    const onConnectionError = (err: MysqlError): void => settle(err);
    conn.on('error', onConnectionError);
    inner.on('fields', (fields) => {
      forwarded = true;
      command.emit('fields', fields);
    });
    inner.on('result', (row, index) => {
      forwarded = true;
      command.emit('result', row, index);
    });
    inner.on('error', (err: MysqlError) => {
      failure = err;
    });
    inner.on('end', () => settle(failure));
    conn.query(inner, undefined, answer);
  }

  /** Resolves the caller: the callback, or 'error'/'end' on the command. */
  done(err: MysqlError | null, rows?: unknown, fields?: unknown): void {
    const command = this.command;
    if (this.cb !== undefined) {
      if (err === null) {
        // mysql2 emits 'end' before the callback; it did already when the command itself ran.
        if (!commandEnded(command)) command.emit('end');
        this.cb(null, rows, fields);
      } else {
        this.cb(err);
        // Not run (no connection): no 'end', as in mysql2. Run once: mysql2 emitted it, or will not (the
        // connection was lost). Run again on a fresh command: the caller's never ended; it does now.
        if (this.sends > 1 && !commandEnded(command)) command.emit('end');
      }
      return;
    }
    // As mysql2's command does: 'error' (an error nobody listens to is thrown, as EventEmitter does), then 'end'.
    if (err !== null) command.emit('error', err);
    command.emit('end');
  }
}
