export { type RetryOptions, RetryPolicy } from './backoff.js';
export {
  type BreakerState,
  type BreakerStateEvent,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './breaker.js';
export { RetryBudget, type RetryBudgetOptions } from './budget.js';
export {
  type Classification,
  type Classifier,
  classifyNetwork,
  isConnectionError,
} from './classify/classification.js';
export { classifyHttp, parseRetryAfter } from './classify/http.js';
export { classifyMysql } from './classify/mysql.js';
export { classifyPostgres } from './classify/postgres.js';
export { classifyRedis } from './classify/redis.js';
export {
  AttemptTimeoutError,
  CircuitOpenError,
  DeadlineExceededError,
  ExecAbortedError,
  NoHealthyHostError,
  OutcomeUnknownError,
  RetryBudgetExhaustedError,
} from './errors.js';
export type {
  AttemptEvent,
  BudgetExhaustedEvent,
  EmitterLike,
  ExecEvents,
  FailoverEvent,
  GiveUpEvent,
  GiveUpReason,
  RetryEvent,
} from './events.js';
export { type Attempt, type Executor, execute, executor } from './execute.js';
export { type HedgeOptions, HedgePolicy } from './hedge.js';
export {
  Host,
  type HostProbe,
  type HostRole,
  HostSet,
  type HostSetOptions,
  type HostSpec,
  type Route,
} from './hosts.js';
export type { CallOptions, ExecuteOptions } from './policy.js';
