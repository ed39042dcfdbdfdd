// The `lifeline-net/redis` entry point: ioredis and node-redis clients made lifeline's.
export { isReadOnly, isSafeToResend } from '../../protocols/redis-commands.js';
export { Cluster, type LifelineClusterOptions } from './cluster.js';
export {
  RedisConnectionClosedError,
  RedisDeadlineExceededError,
  RedisOutcomeUnknownError,
  RedisRetriesExhaustedError,
} from './errors.js';
export { type LifelineRedisOptions, Redis, Redis as default } from './ioredis.js';
export { RedisDriverMissingError } from './load.js';
export { createClient, type LifelineRedisClientOptions } from './node-redis.js';
export {
  createCluster,
  createSentinel,
  type LifelineRedisClusterOptions,
  type LifelineRedisSentinelOptions,
} from './node-redis-router.js';
export type { ConnectionEnd, RedisLifelineOptions, SubscriptionGap } from './options.js';
export { RedisPipelineLostError } from './resend.js';
