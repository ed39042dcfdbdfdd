// The `lifeline-net/pg` entry point: the drop-in Pool for pg.Pool and its errors.
export { DeadlineExceededError, OutcomeUnknownError } from '../../exec/errors.js';
export { AcquireTimeoutError } from '../../pool/index.js';
export { liveSocketOf } from './client.js';
export {
  PgConnectError,
  PgConnectionLostError,
  PgNoHostError,
  PgReadLostError,
  PgReplyLostError,
  PgTransactionLostError,
  PgUnsupportedClientError,
} from './errors.js';
export { PgConfigError, type TargetSessionAttrs } from './hosts.js';
export type { LifelinePgOptions } from './options.js';
export {
  type LifelinePgStats,
  type LifelinePoolConfig,
  type LifelinePoolOptions,
  Pool,
} from './pool.js';
export { capabilitiesOf, type PgClientCapabilities, type ProtectionStats } from './protect.js';
export type { LifelineQueryArrayConfig, LifelineQueryConfig } from './query.js';
export type { PgHostRole, PgHostStats } from './replica-health.js';
export type { ReplicaStats } from './replicas.js';
export { onPrimary, readYourWrites, usePrimary } from './rw-context.js';
export type { PoolClient } from './types.js';
export { PgProtocolError } from './wire-guard.js';
