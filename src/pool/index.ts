export { InvalidOptionError } from '../core/options.js';
export {
  AbortError,
  AcquireTimeoutError,
  CreatedDeadError,
  CreateTimeoutError,
  FactoryCallbackError,
  InvalidReleaseError,
  PingTimeoutError,
  PoolClosedError,
  PoolDrainingError,
} from './errors.js';
export type { Factory, PoolOptions } from './options.js';
export { type AcquireOptions, type LeakReport, Pool, type PoolEvents, type ReleaseOptions } from './pool.js';
export type { EvictReason, PoolStats } from './stats.js';
