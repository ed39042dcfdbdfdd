import { InvalidOptionError } from '../core/options.js';
import { type BreakerPermit, type CircuitBreaker, REJECTED } from './breaker.js';
import { type Classification, REJECTED_FINAL } from './classify/classification.js';
import { deadlines, type Expirable } from './deadlines.js';
import {
  CircuitOpenError,
  DeadlineExceededError,
  ExecAbortedError,
  NoHealthyHostError,
  OutcomeUnknownError,
  RetryBudgetExhaustedError,
} from './errors.js';
import type { AttemptEvent, GiveUpReason } from './events.js';
import type { HedgePolicy } from './hedge.js';
import type { Host, HostChoice, HostSet } from './hosts.js';
import { checkPerCall, type ExecuteOptions, type Plan, planFor } from './plan.js';

/** One try of the operation, handed to `op`. */
export interface Attempt {
  /** Aborts when this attempt is no longer wanted: deadline, caller abort, or another attempt won. */
  readonly signal: AbortSignal;
  /** 1-based. */
  readonly number: number;
  /** The whole operation's deadline (epoch ms). */
  readonly deadline: number;
  /** The host to use, when the call has `hosts`. */
  readonly host: Host | undefined;
  /**
   * Call this when the first byte of this attempt's request may have left (just before writing it). A
   * connection error before it means the server saw nothing and a retry is always safe.
   */
  markSent(): void;
}

// Permit value for "no breaker involved".
const NONE: BreakerPermit = -2;

// abortReason before abort() was called.
const NOT_ABORTED: unknown = Symbol('not aborted');

class AttemptState implements Attempt {
  sent = false;
  done = false;
  private controller: AbortController | undefined = undefined;
  private abortReason: unknown = NOT_ABORTED;

  constructor(
    private readonly call: { readonly deadline: number },
    readonly number: number,
    readonly host: Host | undefined,
    readonly hostPermit: BreakerPermit,
    readonly breakerPermit: BreakerPermit,
    readonly startedAt: number,
  ) {}

  get deadline(): number {
    return this.call.deadline;
  }

  // Created on first use: an operation that never looks at its signal costs no AbortController.
  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      if (this.abortReason !== NOT_ABORTED) controller.abort(this.abortReason);
    }
    return controller.signal;
  }

  markSent(): void {
    this.sent = true;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== NOT_ABORTED) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** One execute() call: a small state machine driven by attempt outcomes and three kinds of timer. */
class Call<T> implements Expirable {
  readonly deadline: number;
  wheelIndex = -1;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  private attempts = 0;
  private settled = false;
  // Attempts in flight: at most two (one hedge).
  private live1: AttemptState | undefined;
  private live2: AttemptState | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private hedgeTimer: NodeJS.Timeout | undefined;
  private lastError: unknown;
  private failedHost: Host | undefined;

  constructor(
    private readonly op: (attempt: Attempt) => Promise<T>,
    private readonly plan: Plan,
    private readonly signal: AbortSignal | undefined,
    private readonly startedAt: number,
    deadline: number,
  ) {
    this.deadline = deadline;
  }

  start(now: number): void {
    const signal = this.signal;
    if (signal?.aborted) {
      this.fail(new ExecAbortedError(signal.reason), 'aborted', false);
      return;
    }
    if (this.deadline <= now) {
      this.fail(
        new DeadlineExceededError(this.deadline - this.startedAt, 0, undefined, 'before the first attempt'),
        'deadline',
        false,
      );
      return;
    }
    deadlines.add(this);
    // The call is its own listener (handleEvent), so no closure is made per call.
    signal?.addEventListener('abort', this);
    this.next(now);
  }

  /** Caller's signal fired. */
  handleEvent(): void {
    this.fail(new ExecAbortedError(this.signal?.reason), 'aborted', false);
  }

  /** The deadline wheel says time is up. */
  expire(): void {
    const error = new DeadlineExceededError(this.deadline - this.startedAt, this.attempts, this.lastError);
    // An attempt still running at the deadline is a timeout: its host's breaker counts it as a failure.
    this.fail(error, 'deadline', true);
  }

  /**
   * Starts the next (or first) attempt on a host and through the breaker that admit it. Kept small, with
   * the policies' work in methods of their own, so the common call (no hosts, no breaker) runs inline.
   */
  next(now: number): void {
    const plan = this.plan;
    let choice: HostChoice | undefined;
    if (plan.hosts !== undefined) {
      choice = this.pickHost(plan.hosts, now);
      if (choice === undefined) return;
    }
    let breakerPermit = NONE;
    if (plan.breaker !== undefined) {
      breakerPermit = this.admitOrFail(plan.breaker, choice, now);
      if (breakerPermit === REJECTED) return;
    }
    this.launch(choice?.host, choice === undefined ? NONE : choice.permit, breakerPermit, now, false);
    if (plan.hedge !== undefined) this.armHedge(plan.hedge, now);
  }

  /** A host for the next attempt, or undefined after failing the call because there is none. */
  private pickHost(hosts: HostSet, now: number): HostChoice | undefined {
    const plan = this.plan;
    const choice = hosts.pick(plan.route, this.failedHost, now);
    if (choice === undefined) {
      this.fail(
        new NoHealthyHostError(plan.route, hosts.summary(now), this.lastError),
        'no-healthy-host',
        false,
      );
      return undefined;
    }
    if (this.failedHost !== undefined && choice.host !== this.failedHost && plan.events?.wants('failover')) {
      plan.events.send('failover', { from: this.failedHost, to: choice.host, error: this.lastError });
    }
    return choice;
  }

  /** The breaker's permit, or REJECTED after failing the call with CircuitOpenError. */
  private admitOrFail(breaker: CircuitBreaker, choice: HostChoice | undefined, now: number): BreakerPermit {
    const permit = breaker.acquire(now);
    if (permit === REJECTED) {
      choice?.host.breaker.release(choice.permit);
      this.fail(
        new CircuitOpenError(breaker.name, breaker.retryAfterMs(now), this.lastError),
        'circuit-open',
        false,
      );
    }
    return permit;
  }

  private armHedge(hedge: HedgePolicy, now: number): void {
    if (this.settled || this.hedgeTimer !== undefined) return;
    const delay = hedge.delayMs();
    if (delay !== undefined && now + delay < this.deadline)
      this.hedgeTimer = setTimeout(hedgeLater, delay, this);
  }

  /** The hedge delay passed with one attempt still running: run a second one beside it. */
  hedge(): void {
    this.hedgeTimer = undefined;
    const plan = this.plan;
    const running = this.live1;
    if (this.settled || running === undefined || this.live2 !== undefined) return;
    if (this.attempts >= plan.retry.maxAttempts) return;
    const now = Date.now();
    let host: Host | undefined;
    let hostPermit = NONE;
    if (plan.hosts !== undefined) {
      // Another host when one is healthy: the point is to avoid whatever makes the first one slow.
      const choice = plan.hosts.pick(plan.route, running.host, now);
      if (choice === undefined) return;
      host = choice.host;
      hostPermit = choice.permit;
    }
    const breakerPermit = plan.breaker === undefined ? NONE : plan.breaker.acquire(now);
    if (breakerPermit === REJECTED) {
      host?.breaker.release(hostPermit);
      return;
    }
    // The token is taken last, so a hedge that cannot run anyway does not spend one.
    if (plan.budget !== undefined && !plan.budget.tryWithdraw(now)) {
      host?.breaker.release(hostPermit);
      plan.breaker?.release(breakerPermit);
      if (plan.events?.wants('budget-exhausted'))
        plan.events.send('budget-exhausted', { attempts: this.attempts, refused: 'hedge', error: undefined });
      return;
    }
    this.launch(host, hostPermit, breakerPermit, now, true);
  }

  private launch(
    host: Host | undefined,
    hostPermit: BreakerPermit,
    breakerPermit: BreakerPermit,
    now: number,
    hedge: boolean,
  ): void {
    const attempt = new AttemptState(this, ++this.attempts, host, hostPermit, breakerPermit, now);
    if (this.live1 === undefined) this.live1 = attempt;
    else this.live2 = attempt;
    if (host !== undefined) host.inFlight++;
    const events = this.plan.events;
    if (events !== undefined) {
      const toAttempt = events.wants('attempt');
      const toHedge = hedge && events.wants('hedge');
      if (toAttempt || toHedge) {
        const event: AttemptEvent = { attempt: attempt.number, host, hedge };
        if (toAttempt) events.send('attempt', event);
        if (toHedge) events.send('hedge', event);
      }
    }
    let result: Promise<T>;
    try {
      result = this.op(attempt);
    } catch (error) {
      // A synchronous throw is a failed attempt like any other.
      this.failed(attempt, error);
      return;
    }
    if (result !== null && typeof (result as { then?: unknown })?.then === 'function') {
      result.then(
        (value) => this.succeeded(attempt, value),
        (error: unknown) => this.failed(attempt, error),
      );
    } else {
      this.succeeded(attempt, result as T);
    }
  }

  private succeeded(attempt: AttemptState, value: T): void {
    if (attempt.done) return;
    attempt.done = true;
    this.detach(attempt);
    if (this.plan.guarded) this.recordSuccess(attempt);
    if (this.settled) return;
    this.finish(false, hedgeWon);
    this.resolve(value);
  }

  private recordSuccess(attempt: AttemptState): void {
    const plan = this.plan;
    if (plan.hosts !== undefined || plan.breaker !== undefined || plan.budget !== undefined) {
      const now = deadlines.now();
      this.record(attempt, false, now);
      plan.budget?.deposit(now);
    }
    // Hedge delays come from these latencies, so they take the precise clock.
    if (plan.hedge !== undefined) plan.hedge.record(Date.now() - attempt.startedAt);
  }

  private failed(attempt: AttemptState, error: unknown): void {
    if (attempt.done) return;
    attempt.done = true;
    this.detach(attempt);
    if (this.settled) return;
    const plan = this.plan;
    let classification: Classification;
    try {
      classification = plan.classify(error, attempt.sent);
    } catch {
      // A broken classifier must not turn a failure into a hang; the error is surfaced as it is.
      classification = REJECTED_FINAL;
    }
    const now = Date.now();
    const retryable = classification.kind !== 'rejected' || classification.transient;
    this.record(attempt, retryable, now);
    this.lastError = error;
    this.failedHost = attempt.host;
    if (!retryable) {
      this.fail(error, 'not-retryable', false);
      return;
    }
    if (classification.kind === 'outcome-unknown' && !plan.idempotent) {
      this.fail(new OutcomeUnknownError(attempt.number, error), 'outcome-unknown', false);
      return;
    }
    // A hedge is still running: its outcome decides.
    if (this.live1 !== undefined) return;
    if (this.hedgeTimer !== undefined) {
      clearTimeout(this.hedgeTimer);
      this.hedgeTimer = undefined;
    }
    if (this.attempts >= plan.retry.maxAttempts) {
      this.fail(error, 'max-attempts', false);
      return;
    }
    let delay = plan.retry.delayMs(this.attempts);
    if (classification.kind === 'rejected' && (classification.retryAfterMs ?? 0) > delay) {
      delay = classification.retryAfterMs as number;
    }
    if (now + delay >= this.deadline) {
      const late = new DeadlineExceededError(
        this.deadline - this.startedAt,
        this.attempts,
        error,
        `before the next retry could run (it was due in ${Math.round(delay)} ms)`,
      );
      this.fail(late, 'deadline', false);
      return;
    }
    if (plan.budget !== undefined && !plan.budget.tryWithdraw(now)) {
      if (plan.events?.wants('budget-exhausted'))
        plan.events.send('budget-exhausted', { attempts: this.attempts, refused: 'retry', error });
      this.fail(new RetryBudgetExhaustedError(this.attempts, error), 'budget-exhausted', false);
      return;
    }
    if (plan.events?.wants('retry')) {
      plan.events.send('retry', {
        attempt: attempt.number,
        error,
        classification,
        delayMs: delay,
        host: attempt.host,
      });
    }
    this.retryTimer = setTimeout(retryLater, delay, this);
  }

  /** Tells the breakers how the attempt went. An answered, non-transient error is a healthy server. */
  private record(attempt: AttemptState, failure: boolean, now: number): void {
    const host = attempt.host;
    if (host !== undefined) this.judge(host.breaker, attempt.hostPermit, failure, now);
    if (this.plan.breaker !== undefined) this.judge(this.plan.breaker, attempt.breakerPermit, failure, now);
  }

  private judge(breaker: CircuitBreaker, permit: BreakerPermit, failure: boolean, now: number): void {
    const before = breaker.state;
    if (failure) breaker.failure(permit, now);
    else breaker.success(permit, now);
    const after = breaker.state;
    const events = this.plan.events;
    if (after !== before && events?.wants('breaker-state'))
      events.send('breaker-state', { breaker: breaker.name, from: before, to: after, at: now });
  }

  private detach(attempt: AttemptState): void {
    if (this.live1 === attempt) {
      this.live1 = this.live2;
      this.live2 = undefined;
    } else if (this.live2 === attempt) {
      this.live2 = undefined;
    }
    if (attempt.host !== undefined) attempt.host.inFlight--;
  }

  private fail(error: unknown, reason: GiveUpReason, liveFailed: boolean): void {
    if (this.settled) return;
    this.finish(liveFailed, error);
    const events = this.plan.events;
    if (events?.wants('give-up')) events.send('give-up', { attempts: this.attempts, reason, error });
    this.reject(error);
  }

  /**
   * Ends the call: stops every timer, leaves the deadline wheel, and aborts attempts still running with
   * `reason`. Their breaker permits are settled here, since an op that ignores its signal may never settle.
   */
  private finish(liveFailed: boolean, reason: unknown): void {
    this.settled = true;
    deadlines.remove(this);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.hedgeTimer !== undefined) clearTimeout(this.hedgeTimer);
    this.retryTimer = this.hedgeTimer = undefined;
    this.signal?.removeEventListener('abort', this);
    let attempt = this.live1;
    while (attempt !== undefined) {
      attempt.done = true;
      this.detach(attempt);
      if (liveFailed) this.record(attempt, true, Date.now());
      else this.releasePermits(attempt);
      attempt.abort(reason);
      attempt = this.live1;
    }
  }

  private releasePermits(attempt: AttemptState): void {
    attempt.host?.breaker.release(attempt.hostPermit);
    this.plan.breaker?.release(attempt.breakerPermit);
  }
}

// The reason a hedge's losing attempt is aborted with.
const hedgeWon = new ExecAbortedError(
  undefined,
  'another attempt of this operation succeeded first; this one is no longer needed',
);

// Timer callbacks take the call as an argument, so arming a timer allocates no closure.
interface Timed {
  next(now: number): void;
  hedge(): void;
}

function retryLater(call: Timed): void {
  call.next(Date.now());
}

function hedgeLater(call: Timed): void {
  call.hedge();
}

/**
 * Runs `op` under a deadline, retrying only what is safe to retry. Every call ends by its deadline:
 * resolved with the op's value or rejected with the op's error or a typed LifelineError
 * (OutcomeUnknownError, DeadlineExceededError, RetryBudgetExhaustedError, CircuitOpenError,
 * NoHealthyHostError, ExecAbortedError). An options object reused across calls is validated once.
 */
export function execute<T>(op: (attempt: Attempt) => Promise<T>, options?: ExecuteOptions): Promise<T> {
  let plan: Plan;
  const now = deadlines.now();
  let deadline: number;
  let signal: AbortSignal | undefined;
  try {
    if (typeof op !== 'function') {
      throw new InvalidOptionError('execute', 'op', 'must be a function (attempt) => Promise', op, {
        argument: true,
      });
    }
    plan = planFor(options);
    deadline = now + plan.deadlineMs;
    if (options !== undefined) {
      if (options.deadline !== undefined || options.signal !== undefined) checkPerCall(options);
      if (options.deadline !== undefined && options.deadline < deadline) deadline = options.deadline;
      signal = options.signal;
    }
  } catch (error) {
    return Promise.reject(error);
  }
  const call = new Call(op, plan, signal, now, deadline);
  // An inline executor: the optimizing compiler inlines it and allocates no closure. (A shared executor
  // writing to module variables costs more: each store of a new function into an old object runs the GC's
  // write barrier.)
  const promise = new Promise<T>((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
  });
  call.start(now);
  return promise;
}
