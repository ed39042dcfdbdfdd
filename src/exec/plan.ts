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
  /** Absolute deadline (epoch ms). With deadlineMs too, the earlier wins. */
  deadline?: number;
  /** Aborts the operation: the call rejects with ExecAbortedError and the attempt's signal aborts. */
  signal?: AbortSignal;
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

/**
 * ExecuteOptions validated and resolved once; cached per options object. `deadline` and `signal` are not
 * part of it: they are read on every call, so one options object may be reused with new values.
 */
export interface Plan {
  readonly deadlineMs: number;
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
}

const DEFAULT_DEADLINE_MS = 30_000;
const DEFAULT_RETRY = new RetryPolicy();

export const DEFAULT_PLAN: Plan = Object.freeze({
  deadlineMs: DEFAULT_DEADLINE_MS,
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
});

// Keyed by the caller's options object, so an options object reused across calls is validated once.
const cache = new WeakMap<ExecuteOptions, Plan>();
// Plain retry/hedge objects reused across calls share one policy (and, for hedging, one latency history).
const retries = new WeakMap<RetryOptions, RetryPolicy>();
const hedges = new WeakMap<HedgeOptions, HedgePolicy>();
// The last options object seen: a loop reusing one object skips even the WeakMap lookup.
let lastOptions: ExecuteOptions | undefined;
let lastPlan: Plan = DEFAULT_PLAN;

// Plans recently built, with the options they were built from. A call site that passes a new literal on every
// call (`execute(op, { deadlineMs: 2000, classify })`) finds its plan here by the options' values and skips
// validating and building it again, which costs about ten times the call itself. Nested `retry` and `hedge`
// literals match by their values too, so such a call site keeps one policy (for a hedge, one latency history).
interface Built {
  readonly from: Readonly<ExecuteOptions>;
  readonly keys: number;
  readonly plan: Plan;
}
const RECENT = 8;
const recent: Built[] = [];
let recentNext = 0;

export function planFor(options: ExecuteOptions | undefined): Plan {
  if (options === undefined) return DEFAULT_PLAN;
  if (options === lastOptions) return lastPlan;
  let plan = cache.get(options);
  if (plan === undefined) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('execute', 'options', 'must be an object', options, { argument: true });
    }
    const keys = optionCount(options);
    if (keys >= 0) plan = recentPlan(options, keys);
    if (plan === undefined) {
      plan = build(options);
      cache.set(options, plan);
      if (keys >= 0) remember(options, keys, plan);
    }
  }
  lastOptions = options;
  lastPlan = plan;
  return plan;
}

// How many keys `options` has, or −1 when one is not an option (only full validation may judge that).
function optionCount(options: ExecuteOptions): number {
  let keys = 0;
  for (const key in options) {
    if (!Object.hasOwn(RULES, key)) return -1;
    keys++;
  }
  return keys;
}

// A plan built from options with the same keys and the same value for every key.
function recentPlan(options: ExecuteOptions, keys: number): Plan | undefined {
  for (const built of recent) {
    if (built.keys === keys && sameValues(built.from, options)) return built.plan;
  }
  return undefined;
}

// `deadline` and `signal` are not compared: they are not part of a plan, and are checked on every call.
function sameValues(a: Readonly<ExecuteOptions>, b: ExecuteOptions): boolean {
  return (
    a.deadlineMs === b.deadlineMs &&
    a.idempotent === b.idempotent &&
    (a.retry === b.retry || sameLiteral(a.retry, b.retry)) &&
    a.budget === b.budget &&
    a.breaker === b.breaker &&
    a.hosts === b.hosts &&
    a.route === b.route &&
    (a.hedge === b.hedge || sameLiteral(a.hedge, b.hedge)) &&
    a.classify === b.classify &&
    a.events === b.events &&
    (a.deadline === undefined) === (b.deadline === undefined) &&
    (a.signal === undefined) === (b.signal === undefined)
  );
}

// Whether two plain objects (not policy instances) have the same keys and values. `a` is a validated copy.
function sameLiteral(a: object | undefined, b: object | undefined): boolean {
  if (!isLiteral(a) || !isLiteral(b)) return false;
  const from = a as Record<string, unknown>;
  const to = b as Record<string, unknown>;
  let keys = 0;
  for (const key in to) {
    if (!Object.hasOwn(from, key) || from[key] !== to[key]) return false;
    keys++;
  }
  return keys === Object.keys(from).length;
}

function isLiteral(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function remember(options: ExecuteOptions, keys: number, plan: Plan): void {
  // Copies: the caller may change its objects afterwards.
  const from: ExecuteOptions = { ...options };
  if (isLiteral(options.retry)) from.retry = { ...options.retry };
  if (isLiteral(options.hedge)) from.hedge = { ...options.hedge };
  const built: Built = { from, keys, plan };
  if (recent.length < RECENT) recent.push(built);
  else recent[recentNext] = built;
  recentNext = (recentNext + 1) % RECENT;
}

function fail(option: string, requirement: string, got: unknown): never {
  throw new InvalidOptionError('execute', option, requirement, got);
}

const OPEN = { kind: 'object', rules: {}, open: true } as const;
const RULES: OptionRules = {
  deadlineMs: { kind: 'number', min: 1, max: MAX_TIMER_MS },
  deadline: { kind: 'number', min: 0, max: 8.64e15 },
  signal: OPEN,
  idempotent: { kind: 'boolean' },
  // Policy instances or their options: checked by resolve* and the instanceof tests below.
  retry: OPEN,
  budget: OPEN,
  breaker: OPEN,
  hosts: OPEN,
  route: { kind: 'enum', values: ['read', 'write'] },
  hedge: OPEN,
  classify: { kind: 'function' },
  events: OPEN,
};

function build(options: ExecuteOptions): Plan {
  validateOptions('execute', options, RULES);
  checkPerCall(options);
  const idempotent = options.idempotent ?? false;
  const retry = resolveRetry(options.retry);
  if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
    fail('budget', 'must be a RetryBudget, shared by the calls to one dependency', options.budget);
  }
  if (options.breaker !== undefined && !(options.breaker instanceof CircuitBreaker)) {
    fail('breaker', 'must be a CircuitBreaker, shared by the calls to one dependency', options.breaker);
  }
  if (options.hosts !== undefined && !(options.hosts instanceof HostSet))
    fail('hosts', 'must be a HostSet', options.hosts);
  let hedge: HedgePolicy | undefined;
  if (options.hedge !== undefined) {
    if (!idempotent) {
      fail(
        'hedge',
        'needs idempotent: true — a hedge runs the operation twice at once, and both may be applied',
        options.hedge,
      );
    }
    hedge = options.hedge instanceof HedgePolicy ? options.hedge : shared(hedges, options.hedge, HedgePolicy);
  }
  const budget = options.budget ?? options.hosts?.budget;
  return Object.freeze({
    deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    idempotent,
    retry,
    budget,
    breaker: options.breaker,
    hosts: options.hosts,
    route: options.route ?? 'write',
    hedge,
    classify: options.classify ?? classifyNetwork,
    events: options.events === undefined ? undefined : toSink(options.events),
    guarded:
      options.hosts !== undefined ||
      options.breaker !== undefined ||
      budget !== undefined ||
      hedge !== undefined,
  });
}

function resolveRetry(retry: RetryPolicy | RetryOptions | undefined): RetryPolicy {
  if (retry === undefined) return DEFAULT_RETRY;
  return retry instanceof RetryPolicy ? retry : shared(retries, retry, RetryPolicy);
}

// One policy per plain options object, so reusing the object reuses the policy (and a hedge's history).
function shared<O extends object, P>(cache: WeakMap<O, P>, options: O, Policy: new (options: O) => P): P {
  let policy = cache.get(options);
  if (policy === undefined) {
    policy = new Policy(options);
    cache.set(options, policy);
  }
  return policy;
}

/** Checks the options read on every call (deadline, signal). */
export function checkPerCall(options: ExecuteOptions): void {
  const { deadline, signal } = options;
  if (deadline !== undefined && !(typeof deadline === 'number' && deadline >= 0 && deadline <= 8.64e15)) {
    fail('deadline', 'must be epoch milliseconds (a number in [0, 8.64e15])', deadline);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal))
    fail('signal', 'must be an AbortSignal', signal);
}
