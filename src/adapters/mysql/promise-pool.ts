// pool.promise()'s pool: mysql2/promise's PromisePool (getConnection, end, events, `pool.pool`, escape…)
// whose query and execute hand the statement straight to lifeline's statement runner: no hop through the
// callback pool's query(), and no Query command object kept for the caller (a promise caller never sees it).
import mysqlPromise from 'mysql2/promise';
import type { MysqlError } from './connection.js';

type Callback = (err: MysqlError | null, rows?: unknown, fields?: unknown) => void;

/** What the promise pool needs of lifeline's callback pool. */
export interface PromiseTarget {
  readonly config: { connectionConfig: Record<string, unknown> };
  /** Runs one statement as pool.query/pool.execute do, without a Query command for the caller. */
  _statement(kind: 'query' | 'execute', sql: unknown, values: unknown, cb: Callback): void;
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

/**
 * As mysql2's PromisePool, with the same `trace` behaviour (the caller's stack on a failed statement's error,
 * captured at the call, frames from the caller on) and the same argument rules. The capture is made here, not
 * in a helper function: the stack walk it costs is per frame.
 */
export class LifelinePromisePool extends PromisePool {
  query(sql: unknown, args?: unknown): Promise<[unknown, unknown]> {
    let holder: { stack?: string } | undefined;
    if (this.pool.config.connectionConfig.trace) {
      holder = {};
      Error.captureStackTrace(holder, LifelinePromisePool.prototype.query);
    }
    if (typeof args === 'function') throw new Error(NO_CALLBACK);
    const pool = this.pool;
    return new this.Promise((resolve, reject) => {
      pool._statement('query', sql, args, (err, rows, fields) => {
        if (err) {
          applyCapturedStack(err, holder);
          reject(err);
        } else resolve([rows, fields]);
      });
    });
  }

  execute(sql: unknown, args?: unknown): Promise<[unknown, unknown]> {
    let holder: { stack?: string } | undefined;
    if (this.pool.config.connectionConfig.trace) {
      holder = {};
      Error.captureStackTrace(holder, LifelinePromisePool.prototype.execute);
    }
    if (typeof args === 'function') throw new Error(NO_CALLBACK);
    const pool = this.pool;
    return new this.Promise((resolve, reject) => {
      // mysql2 passes falsy values as none.
      pool._statement('execute', sql, args ? args : undefined, (err, rows, fields) => {
        if (err) {
          applyCapturedStack(err, holder);
          reject(err);
        } else resolve([rows, fields]);
      });
    });
  }
}
