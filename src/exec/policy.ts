// ExecuteOptions checked and resolved into a Policy: what executor() compiles once and execute() compiles per
// options object. "Policy" is this compiled form; the objects it holds (RetryPolicy, HedgePolicy, …) are its
// parts.
import { InvalidOptionError, MAX_TIMER_MS, type OptionRules, validateOptions } from '../core/options.js';
import { type RetryOptions, RetryPolicy } from './backoff.js';
import { CircuitBreaker } from './breaker.js';
import { RetryBudget } from './budget.js';
import type { Classifier } from './classify/classification.js';
import { classifyNetwork } from './classify/classification.js';
import { type EmitterLike, type EventSink, type ExecEvents, toSink } from './events.js';
import { type HedgeOptions, HedgePolicy } from './hedge.js';
import { HostSet, type Route } from './hosts.js';

export interface ExecuteOptions {
  /** Time allowed for the whole operation, every attempt and backoff included. Default 30 000 ms. */
  deadlineMs?: number;
  /**
   * Absolute deadline in epoch ms, read on lifeline's clock (core/time.ts: monotonic, aligned to Date.now() at
   * process start, so `Date.now() + ms` lands where meant unless the wall clock was stepped since). With
   * deadlineMs too, the earlier wins.
   */
  deadline?: number;
  /** Aborts the operation: the call rejects with ExecAbortedError and the attempt's signal aborts. */
  signal?: AbortSignal;
  /**
   * Time allowed for one attempt. An attempt still running then is aborted and counts as a failed attempt
   * (not sent, or outcome unknown once `markSent()` was called), retried when that is safe. Default: none
   * (each attempt may use what is left of the deadline).
   */
  attemptTimeoutMs?: number;
  /** Declares that running the operation twice has the effect of running it once. Default false. */
  idempotent?: boolean;
  retry?: RetryPolicy | RetryOptions;
  /** Bounds retries and hedges to a fraction of successes. Default: the HostSet's, else none. */
  budget?: RetryBudget;
  /** Guards the whole operation (with hosts, each host also has its own). */
  breaker?: CircuitBreaker;
  hosts?: HostSet;
  /** With hosts: 'write' goes to a primary, 'read' prefers replicas. Default 'write'. */
  route?: Route;
  /** Opt-in for idempotent operations: send a second attempt when the first is slow. */
  hedge?: HedgePolicy | HedgeOptions;
  /** Default classifyNetwork; use classifyPostgres, classifyMysql, classifyRedis or classifyHttp. */
  classify?: Classifier;
  events?: ExecEvents | EmitterLike;
}

/** What one call of an executor may set for itself. */
export interface CallOptions {
  /** This call's time, replacing the executor's `deadlineMs`. */
  deadlineMs?: number;
  /** Absolute deadline (epoch ms, read as ExecuteOptions.deadline); the earlier of it and deadlineMs wins. */
  deadline?: number;
  /** Aborts this call (replaces the executor's `signal`). */
  signal?: AbortSignal;
}

/** ExecuteOptions checked and resolved once. `deadline` and `signal` are kept as given, read per call. */
export interface Policy {
  readonly deadlineMs: number;
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** 0 when attempts have no timeout of their own. */
  readonly attemptTimeoutMs: number;
  readonly idempotent: boolean;
  readonly retry: RetryPolicy;
  readonly budget: RetryBudget | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly hosts: HostSet | undefined;
  readonly route: Route;
  readonly hedge: HedgePolicy | undefined;
  readonly classify: Classifier;
  readonly events: EventSink | undefined;
  /** Whether a success has anything to record: hosts, a breaker, a budget or a hedge. */
  readonly guarded: boolean;
  /** Whether an attempt needs admitting: hosts or a breaker. */
  readonly admits: boolean;
}

const DEFAULT_DEADLINE_MS = 30_000;
const DEFAULT_RETRY = new RetryPolicy();

export const DEFAULT_POLICY: Policy = Object.freeze({
  deadlineMs: DEFAULT_DEADLINE_MS,
  deadline: undefined,
  signal: undefined,
  attemptTimeoutMs: 0,
  idempotent: false,
  retry: DEFAULT_RETRY,
  budget: undefined,
  breaker: undefined,
  hosts: undefined,
  route: 'write',
  hedge: undefined,
  classify: classifyNetwork,
  events: undefined,
  guarded: false,
  admits: false,
});

const OPEN = { kind: 'object', rules: {}, open: true } as const;
const DURATION = { kind: 'number', min: 1, max: MAX_TIMER_MS } as const;
const RULES: OptionRules = {
  deadlineMs: DURATION,
  deadline: { kind: 'number', min: 0, max: 8.64e15 },
  signal: OPEN,
  attemptTimeoutMs: DURATION,
  idempotent: { kind: 'boolean' },
  // Policy instances or their options: checked by the instanceof tests below.
  retry: OPEN,
  budget: OPEN,
  breaker: OPEN,
  hosts: OPEN,
  route: { kind: 'enum', values: ['read', 'write'] },
  hedge: OPEN,
  classify: { kind: 'function' },
  events: OPEN,
};

function fail(owner: string, option: string, requirement: string, got: unknown): never {
  throw new InvalidOptionError(owner, option, requirement, got);
}

/**
 * Checks `options` and resolves them into a Policy. Plain `retry` and `hedge` objects become a policy of
 * their own here: one per compile, so a hedge's latency history belongs to one executor.
 */
export function compile(options: ExecuteOptions | undefined, owner = 'execute'): Policy {
  if (options === undefined) return DEFAULT_POLICY;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(owner, 'options', 'must be an object', options, { argument: true });
  }
  // The common options are checked inline (execute() compiles a new literal on every call); anything the
  // quick look is not sure of goes through the full check, which words the error.
  if (!quickCheck(options)) validateOptions(owner, options, RULES);
  checkPerCall(options, owner);
  const idempotent = options.idempotent ?? false;
  const retry =
    options.retry === undefined
      ? DEFAULT_RETRY
      : options.retry instanceof RetryPolicy
        ? options.retry
        : new RetryPolicy(options.retry);
  if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
    fail(owner, 'budget', 'must be a RetryBudget, shared by the calls to one dependency', options.budget);
  }
  if (options.breaker !== undefined && !(options.breaker instanceof CircuitBreaker)) {
    fail(
      owner,
      'breaker',
      'must be a CircuitBreaker, shared by the calls to one dependency',
      options.breaker,
    );
  }
  if (options.hosts !== undefined && !(options.hosts instanceof HostSet))
    fail(owner, 'hosts', 'must be a HostSet', options.hosts);
  let hedge: HedgePolicy | undefined;
  if (options.hedge !== undefined) {
    if (!idempotent) {
      fail(
        owner,
        'hedge',
        'needs idempotent: true — a hedge runs the operation twice at once, and both may be applied',
        options.hedge,
      );
    }
    hedge = options.hedge instanceof HedgePolicy ? options.hedge : new HedgePolicy(options.hedge);
  }
  const budget = options.budget ?? options.hosts?.budget;
  const breaker = options.breaker;
  const hosts = options.hosts;
  return {
    deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    deadline: options.deadline,
    signal: options.signal,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 0,
    idempotent,
    retry,
    budget,
    breaker,
    hosts,
    route: options.route ?? 'write',
    hedge,
    classify: options.classify ?? classifyNetwork,
    events: options.events === undefined ? undefined : toSink(options.events),
    guarded: hosts !== undefined || breaker !== undefined || budget !== undefined || hedge !== undefined,
    admits: hosts !== undefined || breaker !== undefined,
  };
}

const isDuration = (v: unknown): boolean => typeof v === 'number' && v >= 1 && v <= MAX_TIMER_MS;

/** True when every key is an option with a value of the right type; false sends `options` to the full check. */
function quickCheck(options: ExecuteOptions): boolean {
  for (const key in options) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    switch (key) {
      case 'deadlineMs':
      case 'attemptTimeoutMs':
        if (!isDuration(value)) return false;
        break;
      case 'idempotent':
        if (typeof value !== 'boolean') return false;
        break;
      case 'classify':
        if (typeof value !== 'function') return false;
        break;
      case 'route':
        if (value !== 'read' && value !== 'write') return false;
        break;
      case 'deadline':
        if (!(typeof value === 'number' && value >= 0 && value <= 8.64e15)) return false;
        break;
      case 'signal':
        if (!(value instanceof AbortSignal)) return false;
        break;
      case 'retry':
      case 'budget':
      case 'breaker':
      case 'hosts':
      case 'hedge':
      case 'events':
        if (typeof value !== 'object' || value === null) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Checks the options read on every call (deadline, signal; deadlineMs for a call's own). */
export function checkPerCall(options: CallOptions, owner = 'execute'): void {
  const { deadline, signal, deadlineMs } = options;
  if (deadline !== undefined && !(typeof deadline === 'number' && deadline >= 0 && deadline <= 8.64e15)) {
    fail(owner, 'deadline', 'must be epoch milliseconds (a number in [0, 8.64e15])', deadline);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal))
    fail(owner, 'signal', 'must be an AbortSignal', signal);
  if (deadlineMs !== undefined && !isDuration(deadlineMs))
    fail(owner, 'deadlineMs', `must be a number in [1, ${MAX_TIMER_MS}]`, deadlineMs);
}
