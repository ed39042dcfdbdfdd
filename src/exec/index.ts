// exec's public surface: execute, its policies, the classification model and the network classifier, errors.
// The protocols' classifiers live in src/protocols/ (exported beside these by the package's entry point).
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
export { type Attempt, type AttemptTrace, type Executor, execute, executor } from './execute.js';
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
