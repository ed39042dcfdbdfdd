// The `lifeline-net/mysql/promise` entry point: createPool, a drop-in for mysql2/promise's createPool.
import type { Pool as MysqlPromisePool } from 'mysql2/promise';
import { InvalidOptionError } from '../../core/options.js';
import type { LifelinePoolOptions } from './index.js';
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
export type { LifelinePoolOptions } from './index.js';
export type { LifelineMysqlOptions, MysqlHost } from './options.js';

/** The pool: mysql2/promise's Pool type; `pool.pool` is the callback pool underneath, as in mysql2. */
export type Pool = MysqlPromisePool;

/** Creates a pool as mysql2/promise's `createPool(config)` does, over lifeline-net/mysql's callback pool. */
export function createPool(config: LifelinePoolOptions | string): Pool {
  const impl =
    typeof config === 'object' && config !== null ? (config as { Promise?: unknown }).Promise : undefined;
  if (impl !== undefined && (typeof impl !== 'function' || impl.prototype === undefined)) {
    throw new InvalidOptionError(
      'lifeline-net/mysql/promise createPool',
      'Promise',
      'must be a Promise constructor',
      impl,
    );
  }
  return new LifelinePool(config as never).promise(impl as PromiseConstructor | undefined) as Pool;
}
