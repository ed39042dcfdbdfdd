// pool.promise()'s pool: mysql2/promise's PromisePool (getConnection, end, events, `pool.pool`, escape…)
// whose query and execute hand the statement straight to lifeline's statement runner: no hop through the
// callback pool's query(), and no Query command object kept for the caller (a promise caller never sees it).
import mysqlPromise from 'mysql2/promise';
import type { MysqlError } from './connection.js';

type Callback = (err: MysqlError | null, rows?: unknown, fields?: unknown) => void;

/**
 * A promise pool caller's promise, settled by the statement itself: no callback closure (and the contexts it
 * would hold) per statement.
 */
export class PromiseSink {
  constructor(
    readonly resolve: (answer: [unknown, unknown]) => void,
    readonly reject: (error: unknown) => void,
    /** The caller's stack, captured at the call (mysql2's `trace`), or undefined. */
    readonly holder: { stack?: string } | undefined,
  ) {}
}

/** Where a statement's outcome goes: a callback (pool.query/execute's, or a no-op), or a promise caller. */
export type Done = Callback | PromiseSink;

/** Hands an outcome to `done`: a failure to a promise caller carries the caller's stack, as in mysql2. */
export function deliver(done: Done, err: MysqlError | null, rows?: unknown, fields?: unknown): void {
  if (typeof done === 'function') {
    done(err, rows, fields);
    return;
  }
  if (err) {
    applyCapturedStack(err, done.holder);
    done.reject(err);
  } else done.resolve([rows, fields]);
}

/** What the promise pool needs of lifeline's callback pool. */
export interface PromiseTarget {
  readonly config: { connectionConfig: Record<string, unknown> };
  /** Runs one statement as pool.query/pool.execute do; its outcome settles `sink`. */
  _statement(kind: 'query' | 'execute', sql: unknown, values: unknown, sink: PromiseSink): void;
}

type PromisePoolClass = new (
  pool: PromiseTarget,
  promiseImpl: PromiseConstructor,
) => { readonly pool: PromiseTarget; readonly Promise: PromiseConstructor };

const PromisePool = (mysqlPromise as unknown as { PromisePool: PromisePoolClass }).PromisePool;

const NO_CALLBACK = 'Callback function is not available with promise clients.';

/**
 * mysql2's applyCapturedStack: the caller's stack (captured when it called) in place of the error's, with
 * the error's own first line. The error instance and its MySQL fields stay.
 */
function applyCapturedStack(err: Error, holder: { stack?: string } | undefined): void {
  const stack = holder?.stack;
  if (typeof stack !== 'string' || !stack) return;
  const lines = stack.split('\n');
  lines[0] = `${err.name}: ${err.message}`;
  err.stack = lines.join('\n');
}

// The settle functions of the promise being made: the native Promise runs its executor synchronously, so one
// shared executor hands them over without a closure per statement.
let madeResolve: ((answer: [unknown, unknown]) => void) | undefined;
let madeReject: ((error: unknown) => void) | undefined;
function keepSettlers(resolve: (answer: [unknown, unknown]) => void, reject: (error: unknown) => void): void {
  madeResolve = resolve;
  madeReject = reject;
}

/**
 * Runs one statement for a promise caller. A Promise implementation given to createPool other than the
 * native one gets its settle functions through a closure, as in mysql2.
 */
function settleBy(
  target: PromiseTarget,
  P: PromiseConstructor,
  kind: 'query' | 'execute',
  sql: unknown,
  values: unknown,
  holder: { stack?: string } | undefined,
): Promise<[unknown, unknown]> {
  if (P === Promise) {
    const promise = new Promise<[unknown, unknown]>(keepSettlers);
    const sink = new PromiseSink(
      madeResolve as (answer: [unknown, unknown]) => void,
      madeReject as (error: unknown) => void,
      holder,
    );
    madeResolve = undefined;
    madeReject = undefined;
    try {
      target._statement(kind, sql, values, sink);
    } catch (error) {
      // As a throw in mysql2's executor: a rejection, not a throw at the caller.
      sink.reject(error);
    }
    return promise;
  }
  return new P<[unknown, unknown]>((resolve, reject) =>
    target._statement(kind, sql, values, new PromiseSink(resolve, reject, holder)),
  );
}

/**
 * One promise caller's statement: mysql2's `trace` (the caller's stack, captured now from `method`'s caller
 * on, for a failed statement's error) and its argument rule, then the statement.
 */
function call(
  pool: { readonly pool: PromiseTarget; readonly Promise: PromiseConstructor },
  kind: 'query' | 'execute',
  method: (...args: never[]) => unknown,
  sql: unknown,
  args: unknown,
): Promise<[unknown, unknown]> {
  let holder: { stack?: string } | undefined;
  if (pool.pool.config.connectionConfig.trace) {
    holder = {};
    Error.captureStackTrace(holder, method);
  }
  if (typeof args === 'function') throw new Error(NO_CALLBACK);
  return settleBy(pool.pool, pool.Promise, kind, sql, args, holder);
}

/** As mysql2's PromisePool, with the same `trace` behaviour and the same argument rules. */
export class LifelinePromisePool extends PromisePool {
  query(sql: unknown, args?: unknown): Promise<[unknown, unknown]> {
    return call(this, 'query', LifelinePromisePool.prototype.query, sql, args);
  }

  execute(sql: unknown, args?: unknown): Promise<[unknown, unknown]> {
    // mysql2 passes falsy values as none (a callback, never falsy, still meets the argument check).
    return call(this, 'execute', LifelinePromisePool.prototype.execute, sql, args || undefined);
  }
}
