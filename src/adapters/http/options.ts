// What lifeline adds to an HTTP client (options under `lifeline`), checked once.
import type { Dispatcher } from 'undici';
import { InvalidOptionError, MAX_TIMER_MS, type OptionRules, validateOptions } from '../../core/options.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type ExecuteOptions,
  type Executor,
  executor,
  type HedgeOptions,
  HedgePolicy,
  RetryBudget,
  type RetryBudgetOptions,
  type RetryOptions,
  RetryPolicy,
} from '../../exec/index.js';
import { classifyHttp } from '../../protocols/index.js';
import type { LiveSocketOptions } from '../../socket/index.js';
import { resolveOptions } from '../../socket/options.js';
import { DeadlineQueue } from './deadline-queue.js';
import { OriginIdle } from './idle.js';

/** What lifeline adds to an HTTP client. Every time is in milliseconds. */
export interface LifelineHttpOptions {
  /**
   * Time for a request's response headers to arrive, retries and backoff included. Past it the request ends
   * with DeadlineExceededError and its socket is retired. Default 300 000 (undici's headersTimeout).
   */
  deadlineMs?: number;
  /** Attempts and backoff (exec's RetryPolicy). Default 3 attempts, first retry within 50 ms. */
  retry?: RetryOptions;
  /** A retry budget per origin, so a failing origin gets a bounded fraction of extra load; false: none. */
  budget?: RetryBudgetOptions | false;
  /** A circuit breaker per origin; off unless given. */
  breaker?: CircuitBreakerOptions | false;
  /** Hedging for idempotent requests with a replayable body; off unless given. */
  hedge?: HedgeOptions | false;
  /** Every origin's idle cut, when known (a proxy's or server's keep-alive timeout). */
  idleCutMs?: number;
  /** Learn each origin's idle cut from the FINs seen on idle sockets. Default true. */
  learnIdleCut?: boolean;
  /** How each pooled socket is watched (LiveSocket options: keepalive, TCP_USER_TIMEOUT, write stall). */
  socket?: LiveSocketOptions;
}

const RULES: OptionRules = {
  deadlineMs: { kind: 'number', min: 1, max: MAX_TIMER_MS },
  retry: { kind: 'object', rules: {}, open: true },
  budget: { kind: 'object', rules: {}, open: true },
  breaker: { kind: 'object', rules: {}, open: true },
  hedge: { kind: 'object', rules: {}, open: true },
  idleCutMs: { kind: 'number', min: 1, max: MAX_TIMER_MS },
  learnIdleCut: { kind: 'boolean' },
  socket: { kind: 'object', rules: {}, open: true },
};

/**
 * Checks what lifeline adds to a client, at construction: `options` against `rules` (under `path`, `lifeline`
 * for the agents, so errors name `lifeline.deadlineMs`; directly for interceptor()), and the LiveSocket
 * options under `socket` now rather than when the first socket opens. `false` values of `optional` keys turn
 * a policy off and are not checked. Returns the options as given.
 */
export function checkLifelineOptions<T extends object>(
  owner: string,
  path: string | undefined,
  options: unknown,
  rules: OptionRules,
  optional: readonly string[] = [],
): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(owner, path ?? 'options', 'must be an object', options);
  }
  const checked = { ...options } as Record<string, unknown>;
  for (const key of optional) if (checked[key] === false) delete checked[key];
  if (path === undefined) validateOptions(owner, checked, rules);
  else validateOptions(owner, { [path]: checked }, { [path]: { kind: 'object', rules } });
  const socket = checked.socket;
  if (socket !== undefined) {
    resolveOptions(socket as LiveSocketOptions, `${owner} ${path === undefined ? '' : `${path}.`}socket`);
  }
  return options as T;
}

/** One origin's state: its idle cut, and the two executors (sharing its breaker and budget) its requests use. */
export interface Origin {
  readonly idle: OriginIdle;
  /** For idempotent requests (by method or Idempotency-Key) whose body can be sent again. */
  readonly safe: Executor;
  /** For every other request: retried only when not sent. */
  readonly unsafe: Executor;
  /**
   * What the fast path (fast.ts) needs to run a first attempt without execute(): it is taken only when no
   * breaker must admit the attempt (`direct`) and, for a safe request, no hedge may start beside it.
   */
  readonly direct: boolean;
  readonly hedged: boolean;
  readonly budget: RetryBudget | undefined;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
  /** The deadlines of this origin's fast-path requests (fast.ts). */
  readonly deadlines: DeadlineQueue;
}

/** LifelineHttpOptions checked once, with one Origin per origin made on first use. */
export class HttpPolicy {
  readonly socket: LiveSocketOptions;
  /**
   * Sends one request on a connection of its own, opened for it and closed after it (set by lifeline's Agent,
   * which knows how to connect): a retry goes there, so it never meets another stale pooled socket.
   */
  fresh: Dispatcher.Dispatch | undefined;
  readonly #options: LifelineHttpOptions;
  readonly #retry: RetryPolicy;
  readonly #origins = new Map<string, Origin>();

  /** `path`: where the options sit in the owner's own options (`lifeline` for Agent), if anywhere. */
  constructor(options: LifelineHttpOptions | undefined, owner: string, path?: string) {
    const given = checkLifelineOptions<LifelineHttpOptions>(owner, path, options, RULES, [
      'budget',
      'breaker',
      'hedge',
    ]);
    this.#options = given;
    this.#retry = new RetryPolicy(given.retry);
    // Checked now, so a bad nested option fails at construction, not at the first request.
    if (given.budget) new RetryBudget(given.budget);
    if (given.breaker) new CircuitBreaker(given.breaker);
    if (given.hedge) new HedgePolicy(given.hedge);
    this.socket = given.socket ?? {};
  }

  origin(key: string): Origin {
    let origin = this.#origins.get(key);
    if (origin === undefined) {
      origin = this.#build(key);
      this.#origins.set(key, origin);
    }
    return origin;
  }

  #build(key: string): Origin {
    const o = this.#options;
    const budget = o.budget === false ? undefined : new RetryBudget(o.budget ?? {});
    const breaker = o.breaker ? new CircuitBreaker({ name: key, ...o.breaker }) : undefined;
    const deadlineMs = o.deadlineMs ?? 300_000;
    const common: ExecuteOptions = {
      deadlineMs,
      retry: this.#retry,
      classify: classifyHttp,
      ...(budget === undefined ? {} : { budget }),
      ...(breaker === undefined ? {} : { breaker }),
    };
    return {
      idle: new OriginIdle(o.idleCutMs, o.learnIdleCut ?? true),
      safe: executor({
        ...common,
        idempotent: true,
        ...(o.hedge ? { hedge: new HedgePolicy(o.hedge) } : {}),
      }),
      unsafe: executor({ ...common, idempotent: false }),
      direct: breaker === undefined,
      hedged: Boolean(o.hedge),
      budget,
      deadlineMs,
      maxAttempts: this.#retry.maxAttempts,
      deadlines: new DeadlineQueue(),
    };
  }
}
