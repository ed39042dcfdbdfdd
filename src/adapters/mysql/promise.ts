// The `lifeline-net/mysql/promise` entry point: createPool, a drop-in for mysql2/promise's createPool.
import type { Pool as MysqlPromisePool } from 'mysql2/promise';
import type { LifelinePoolOptions } from './index.js';
import { LifelinePool } from './pool.js';

export { DeadlineExceededError, OutcomeUnknownError } from '../../exec/errors.js';
export { AcquireTimeoutError } from '../../pool/index.js';
export { liveSocketOf } from './connection.js';
export {
  MysqlConnectError,
  MysqlNoConnectionsError,
  MysqlPoolClosedError,
  MysqlQueueLimitError,
  MysqlReplyLostError,
} from './errors.js';
export type { LifelinePoolOptions } from './index.js';
export type { LifelineMysqlOptions, MysqlHost } from './options.js';

/** The pool: mysql2/promise's Pool type; `pool.pool` is the callback pool underneath, as in mysql2. */
export type Pool = MysqlPromisePool;

/** Creates a pool as mysql2/promise's `createPool(config)` does, over lifeline-net/mysql's callback pool. */
export function createPool(config: LifelinePoolOptions | string): Pool {
  const Promised = config as { Promise?: PromiseConstructor } | string;
  const impl = typeof Promised === 'object' ? Promised.Promise : undefined;
  return new LifelinePool(config as never).promise(impl) as Pool;
}
