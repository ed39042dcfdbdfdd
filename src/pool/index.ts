// The pool layer's public surface: Pool, its options, events, stats and errors.
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
export type { AcquireOptions, LeakReport, PoolEvents, ReleaseOptions } from './events.js';
export {
  type PoolObserver,
  poolBehind,
  registerPoolFacade,
  setPoolObserver,
} from './observer.js';
export type { Factory, PoolOptions } from './options.js';
export { type AcquireTrace, Pool } from './pool.js';
export type { EvictReason, PoolStats } from './stats.js';
