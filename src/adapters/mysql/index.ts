// The `lifeline-net/mysql` entry point: createPool, a drop-in for mysql2's createPool (callback API).
import type { Pool as MysqlPool, PoolOptions } from 'mysql2';
import type { LifelineMysqlOptions } from './options.js';
import { LifelinePool } from './pool.js';

export { DeadlineExceededError, OutcomeUnknownError } from '../../exec/errors.js';
export { AcquireTimeoutError } from '../../pool/index.js';
export { liveSocketOf } from './connection.js';
export {
  MysqlConnectError,
  MysqlConnectionLostError,
  MysqlNoConnectionsError,
  MysqlPoolClosedError,
  MysqlQueueLimitError,
  MysqlReplyLostError,
} from './errors.js';
export type { LifelineMysqlOptions, MysqlHost } from './options.js';
export { LifelinePool } from './pool.js';

/** mysql2's PoolOptions plus `lifeline`. */
export interface LifelinePoolOptions extends PoolOptions {
  lifeline?: LifelineMysqlOptions;
}

/** The pool: mysql2's Pool type, plus lifeline's `stats()`. */
export type Pool = MysqlPool & Pick<LifelinePool, 'stats'>;

/**
 * Creates a pool as mysql2's `createPool(config)` does (a config object or a URL), whose connections know
 * when they are dead. Every mysql2 pool option keeps its meaning; `lifeline` holds lifeline's own.
 */
export function createPool(config: LifelinePoolOptions | string): Pool {
  return new LifelinePool(config as never) as unknown as Pool;
}
