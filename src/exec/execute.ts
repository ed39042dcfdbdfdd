// The state machine of one operation under an ExecuteOptions policy: attempts, retries, a hedge, the deadline.
// Over 400 lines for one reason: Call is one state machine, and splitting its transitions across files
// would hide which timer and which permit each one settles.
import { execAttemptChannel } from '../core/channels.js';
import { InvalidOptionError, MAX_TIMER_MS } from '../core/options.js';
import { coarseNow, preciseNow } from '../core/time.js';
import { type BreakerPermit, type CircuitBreaker, REJECTED } from './breaker.js';
import { type Classification, REJECTED_FINAL } from './classify/classification.js';
import { deadlines, type Expirable } from './deadlines.js';
import {
  AttemptTimeoutError,
  CircuitOpenError,
  DeadlineExceededError,
  ExecAbortedError,
  NoHealthyHostError,
  OutcomeUnknownError,
  RetryBudgetExhaustedError,
} from './errors.js';
import type { AttemptEvent, GiveUpReason } from './events.js';
import type { Host } from './hosts.js';
import {
  type CallOptions,
  checkPerCall,
  compile,
  DEFAULT_POLICY,
  type ExecuteOptions,
  type Policy,
} from './policy.js';

/** One try of the operation, handed to `op`. */
export interface Attempt {
  /** Aborts when this attempt is no longer wanted: deadline, caller abort, or another attempt won. */
  readonly signal: AbortSignal;
  /** 1-based. */
  readonly number: number;
  /**
   * This attempt's deadline on lifeline's clock (core/time.ts: monotonic, epoch-aligned ms): the operation's,
   * or earlier when `attemptTimeoutMs` says so.
   */
  readonly deadline: number;
  /** The host to use, when the call has `hosts`. */
  readonly host: Host | undefined;
  /** Milliseconds left until `deadline`, never below 0. */
  timeLeftMs(): number;
  /**
   * Calls `listener` once, with the reason, when this attempt is no longer wanted (the same moment
   * `signal` aborts); at once when that has happened already. Cheaper than `signal`, which costs an
   * AbortController: a driver that can stop its own request (a CancelRequest, closing its connection) hooks
   * it here, and needs no timer of its own, since exec's deadline (or attempt timeout) is what fires it.
   */
  onAbort(listener: (reason: unknown) => void): void;
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

const NOT_SENT: Classification = Object.freeze({ kind: 'not-sent' });
const OUTCOME_UNKNOWN: Classification = Object.freeze({ kind: 'outcome-unknown' });

/** What an attempt tells the call it belongs to. */
interface AttemptOwner {
  timedOut(attempt: AttemptState): void;
}

/** The payload of the `lifeline:exec:attempt` TracingChannel (docs/observe.md). */
export interface AttemptTrace {
  /** 1-based attempt number within the call. */
  readonly attempt: number;
  readonly hedge: boolean;
  /** The host's name when the call runs over a HostSet. */
  readonly host: string | undefined;
  /** Set when the attempt failed: how it was classified ('not-sent', 'outcome-unknown', 'rejected'). */
  classification?: Classification['kind'];
  /** Whether this failure ends the call with OutcomeUnknownError. */
  outcomeUnknownError?: boolean;
  error?: unknown;
  result?: unknown;
}

class AttemptState implements Attempt, Expirable {
  sent = false;
  done = false;
  /** The tracing payload, only while someone subscribes to `lifeline:exec:attempt`. */
  trace: AttemptTrace | undefined = undefined;
  timerIndex = -1;
  private controller: AbortController | undefined = undefined;
  private listener: ((reason: unknown) => void) | undefined = undefined;
  private abortReason: unknown = NOT_ABORTED;

  constructor(
    private readonly owner: AttemptOwner,
    readonly number: number,
    readonly host: Host | undefined,
    readonly hostPermit: BreakerPermit,
    readonly breakerPermit: BreakerPermit,
    readonly startedAt: number,
    readonly deadline: number,
  ) {}

  // Created on first use: an operation that never looks at its signal costs no AbortController.
  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      if (this.abortReason !== NOT_ABORTED) controller.abort(this.abortReason);
    }
    return controller.signal;
  }

  timeLeftMs(): number {
    const left = this.deadline - coarseNow();
    return left > 0 ? left : 0;
  }

  onAbort(listener: (reason: unknown) => void): void {
    if (typeof listener !== 'function') {
      throw new InvalidOptionError('attempt.onAbort', 'listener', 'must be a function', listener, {
        argument: true,
      });
    }
    if (this.abortReason !== NOT_ABORTED) {
      callListener(listener, this.abortReason);
      return;
    }
    const before = this.listener;
    this.listener =
      before === undefined
        ? listener
        : (reason) => {
            callListener(before, reason);
            callListener(listener, reason);
          };
  }

  markSent(): void {
    this.sent = true;
  }

  /** The attempt timeout passed (the DeadlineTimer calls this). */
  expire(): void {
    this.owner.timedOut(this);
  }

  abort(reason: unknown): void {
    if (this.abortReason !== NOT_ABORTED) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listener = this.listener;
    if (listener !== undefined) {
      this.listener = undefined;
      callListener(listener, reason);
    }
  }
}

// A listener's bug must not break the call that aborts the attempt.
function callListener(listener: (reason: unknown) => void, reason: unknown): void {
  try {
    listener(reason);
  } catch {}
}

/** One operation: a small state machine driven by attempt outcomes and three kinds of timer. */
class Call<T> implements Expirable, AttemptOwner {
  readonly deadline: number;
  timerIndex = -1;
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
  // What the last admission step let through, read by launch() (fields, so admitting allocates nothing).
  private host: Host | undefined = undefined;
  private hostPermit: BreakerPermit = NONE;
  private breakerPermit: BreakerPermit = NONE;

  constructor(
    private readonly op: (attempt: Attempt) => Promise<T>,
    private readonly policy: Policy,
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

  /** The DeadlineTimer says the operation's time is up. */
  expire(): void {
    const error = new DeadlineExceededError(this.deadline - this.startedAt, this.attempts, this.lastError);
    // An attempt still running at the deadline is a timeout: its host's breaker counts it as a failure.
    this.fail(error, 'deadline', true);
  }

  /** Starts the next (or first) attempt, when the admission step lets it. */
  next(now: number): void {
    const policy = this.policy;
    if (policy.admits && !this.admit(undefined, now, false)) return;
    this.launch(now, false);
    if (policy.hedge !== undefined) this.armHedge(now);
  }

  /**
   * The one admission step of every attempt, normal or hedge: a host (not `avoid` when another is healthy),
   * the call's breaker, and for a hedge a retry-budget token, taken in that order and each given back when a
   * later one refuses. A refused normal attempt fails the call with the reason; a refused hedge is not sent.
   * What it took is left in `host`, `hostPermit` and `breakerPermit` for launch().
   */
  private admit(avoid: Host | undefined, now: number, hedge: boolean): boolean {
    const policy = this.policy;
    let host: Host | undefined;
    let hostPermit = NONE;
    const hosts = policy.hosts;
    if (hosts !== undefined) {
      const choice = hosts.pick(policy.route, hedge ? avoid : this.failedHost, now);
      if (choice === undefined) {
        if (!hedge) {
          this.fail(
            new NoHealthyHostError(policy.route, hosts.summary(now), this.lastError),
            'no-healthy-host',
            false,
          );
        }
        return false;
      }
      host = choice.host;
      hostPermit = choice.permit;
    }
    let breakerPermit = NONE;
    const breaker = policy.breaker;
    if (breaker !== undefined) {
      breakerPermit = breaker.acquire(now);
      if (breakerPermit === REJECTED) {
        host?.breaker.release(hostPermit);
        if (!hedge) {
          this.fail(
            new CircuitOpenError(breaker.name, breaker.retryAfterMs(now), this.lastError),
            'circuit-open',
            false,
          );
        }
        return false;
      }
    }
    // A hedge's token is taken last, so a hedge that cannot run anyway does not spend one. (A retry's is
    // taken when it is scheduled, so a refused retry fails the call at once instead of after its backoff.)
    if (hedge && policy.budget !== undefined && !policy.budget.tryWithdraw(now)) {
      host?.breaker.release(hostPermit);
      breaker?.release(breakerPermit);
      if (policy.events?.wants('budget-exhausted'))
        policy.events.send('budget-exhausted', {
          attempts: this.attempts,
          refused: 'hedge',
          error: undefined,
        });
      return false;
    }
    const failedHost = this.failedHost;
    if (!hedge && failedHost !== undefined && host !== failedHost && host !== undefined) {
      if (policy.events?.wants('failover'))
        policy.events.send('failover', { from: failedHost, to: host, error: this.lastError });
    }
    this.host = host;
    this.hostPermit = hostPermit;
    this.breakerPermit = breakerPermit;
    return true;
  }

  private armHedge(now: number): void {
    if (this.settled || this.hedgeTimer !== undefined) return;
    const delay = (this.policy.hedge as NonNullable<Policy['hedge']>).delayMs();
    if (delay !== undefined && now + delay < this.deadline)
      this.hedgeTimer = setTimeout(hedgeLater, delay, this);
  }

  /** The hedge delay passed with one attempt still running: run a second one beside it. */
  hedge(): void {
    this.hedgeTimer = undefined;
    const running = this.live1;
    if (this.settled || running === undefined || this.live2 !== undefined) return;
    if (this.attempts >= this.policy.retry.maxAttempts) return;
    const now = coarseNow();
    // Another host when one is healthy: the point is to avoid whatever makes the first one slow.
    if (this.admit(running.host, now, true)) this.launch(now, true);
  }

  /** Starts an attempt with what the last admission step took (nothing, when the policy admits freely). */
  private launch(now: number, hedge: boolean): void {
    const host = this.host;
    const policy = this.policy;
    const timeoutMs = policy.attemptTimeoutMs;
    const ownDeadline = timeoutMs > 0 && now + timeoutMs < this.deadline;
    const attempt = new AttemptState(
      this,
      ++this.attempts,
      host,
      this.hostPermit,
      this.breakerPermit,
      now,
      ownDeadline ? now + timeoutMs : this.deadline,
    );
    if (ownDeadline) deadlines.add(attempt);
    if (this.live1 === undefined) this.live1 = attempt;
    else this.live2 = attempt;
    if (host !== undefined) host.inFlight++;
    const events = policy.events;
    if (events !== undefined) {
      const toAttempt = events.wants('attempt');
      const toHedge = hedge && events.wants('hedge');
      if (toAttempt || toHedge) {
        const event: AttemptEvent = { attempt: attempt.number, host, hedge };
        if (toAttempt) events.send('attempt', event);
        if (toHedge) events.send('hedge', event);
      }
    }
    if (execAttemptChannel.hasSubscribers) {
      attempt.trace = { attempt: attempt.number, hedge, host: host?.name };
      execAttemptChannel.start.publish(attempt.trace);
    }
    let result: Promise<T>;
    try {
      result = this.op(attempt);
    } catch (error) {
      // A synchronous throw is a failed attempt like any other.
      this.failed(attempt, error);
      if (attempt.trace !== undefined) execAttemptChannel.end.publish(attempt.trace);
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
    if (attempt.trace !== undefined) execAttemptChannel.end.publish(attempt.trace);
  }

  /** An attempt ran past attemptTimeoutMs: aborted, and failed as not sent or outcome unknown. */
  timedOut(attempt: AttemptState): void {
    if (attempt.done) return;
    const error = new AttemptTimeoutError(this.policy.attemptTimeoutMs, attempt.number, attempt.sent);
    attempt.abort(error);
    this.failed(attempt, error, attempt.sent ? OUTCOME_UNKNOWN : NOT_SENT);
  }

  private succeeded(attempt: AttemptState, value: T): void {
    if (attempt.done) return;
    attempt.done = true;
    this.detach(attempt);
    if (attempt.trace !== undefined) traceSettled(attempt.trace, value, undefined);
    if (this.policy.guarded) this.recordSuccess(attempt);
    if (this.settled) return;
    this.finish(false, hedgeWon);
    this.resolve(value);
  }

  private recordSuccess(attempt: AttemptState): void {
    const policy = this.policy;
    if (policy.hosts !== undefined || policy.breaker !== undefined || policy.budget !== undefined) {
      const now = coarseNow();
      this.record(attempt, false, now);
      policy.budget?.deposit(now);
    }
    // Hedge delays come from these latencies, so they take the precise clock.
    if (policy.hedge !== undefined) policy.hedge.record(preciseNow() - attempt.startedAt);
  }

  private failed(attempt: AttemptState, error: unknown, known?: Classification): void {
    if (attempt.done) return;
    attempt.done = true;
    this.detach(attempt);
    if (this.settled) {
      if (attempt.trace !== undefined) traceSettled(attempt.trace, undefined, error);
      return;
    }
    const policy = this.policy;
    let classification: Classification;
    if (known !== undefined) classification = known;
    else {
      try {
        classification = policy.classify(error, attempt.sent);
      } catch {
        // A broken classifier must not turn a failure into a hang; the error is surfaced as it is.
        classification = REJECTED_FINAL;
      }
    }
    const trace = attempt.trace;
    if (trace !== undefined) {
      trace.classification = classification.kind;
      trace.outcomeUnknownError = classification.kind === 'outcome-unknown' && !policy.idempotent;
      traceSettled(trace, undefined, error);
    }
    const now = coarseNow();
    const retryable = classification.kind !== 'rejected' || classification.transient;
    this.record(attempt, retryable, now);
    this.lastError = error;
    this.failedHost = attempt.host;
    if (!retryable) {
      this.fail(error, 'not-retryable', false);
      return;
    }
    if (classification.kind === 'outcome-unknown' && !policy.idempotent) {
      this.fail(new OutcomeUnknownError(attempt.number, error), 'outcome-unknown', false);
      return;
    }
    // A hedge is still running: its outcome decides.
    if (this.live1 !== undefined) return;
    if (this.hedgeTimer !== undefined) {
      clearTimeout(this.hedgeTimer);
      this.hedgeTimer = undefined;
    }
    if (this.attempts >= policy.retry.maxAttempts) {
      this.fail(error, 'max-attempts', false);
      return;
    }
    let delay = policy.retry.delayMs(this.attempts);
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
    if (policy.budget !== undefined && !policy.budget.tryWithdraw(now)) {
      if (policy.events?.wants('budget-exhausted'))
        policy.events.send('budget-exhausted', { attempts: this.attempts, refused: 'retry', error });
      this.fail(new RetryBudgetExhaustedError(this.attempts, error), 'budget-exhausted', false);
      return;
    }
    if (policy.events?.wants('retry')) {
      policy.events.send('retry', {
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
    if (this.policy.breaker !== undefined)
      this.judge(this.policy.breaker, attempt.breakerPermit, failure, now);
  }

  private judge(breaker: CircuitBreaker, permit: BreakerPermit, failure: boolean, now: number): void {
    const before = breaker.state;
    if (failure) breaker.failure(permit, now);
    else breaker.success(permit, now);
    const after = breaker.state;
    const events = this.policy.events;
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
    if (attempt.timerIndex >= 0) deadlines.remove(attempt);
  }

  private fail(error: unknown, reason: GiveUpReason, liveFailed: boolean): void {
    if (this.settled) return;
    this.finish(liveFailed, error);
    const events = this.policy.events;
    if (events?.wants('give-up')) events.send('give-up', { attempts: this.attempts, reason, error });
    this.reject(error);
  }

  /**
   * Ends the call: stops every timer, leaves the DeadlineTimer, and aborts attempts still running with
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
      if (liveFailed) this.record(attempt, true, coarseNow());
      else this.releasePermits(attempt);
      attempt.abort(reason);
      attempt = this.live1;
    }
  }

  private releasePermits(attempt: AttemptState): void {
    attempt.host?.breaker.release(attempt.hostPermit);
    this.policy.breaker?.release(attempt.breakerPermit);
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
  call.next(coarseNow());
}

function hedgeLater(call: Timed): void {
  call.hedge();
}

/** Starts one operation under `policy`; `deadlineMs`, `deadline` and `signal` are this call's. */
function start<T>(
  op: (attempt: Attempt) => Promise<T>,
  policy: Policy,
  now: number,
  deadlineMs: number,
  deadline: number | undefined,
  signal: AbortSignal | undefined,
): Promise<T> {
  let end = now + deadlineMs;
  if (deadline !== undefined && deadline < end) end = deadline;
  const call = new Call(op, policy, signal, now, end);
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

function badOp(owner: string, op: unknown): InvalidOptionError {
  return new InvalidOptionError(owner, 'op', 'must be a function (attempt) => Promise', op, {
    argument: true,
  });
}

/** Runs one operation under the policy an {@link executor} compiled. */
export interface Executor {
  <T>(op: (attempt: Attempt) => Promise<T>, call?: CallOptions): Promise<T>;
  /**
   * True when the compiled policy puts nothing around a first attempt: no deadline short enough to need a
   * timer (deadlineMs at its maximum, no `deadline` or `signal`), no attempt timeout, hedge, hosts, breaker
   * or events, and nobody subscribes to the `lifeline:exec:attempt` TracingChannel (read per call). A driver
   * may then run the first attempt itself on its cheapest path (callbacks, no promise of exec's) and: on
   * success call {@link Executor.succeeded}; on failure run the operation through the executor with an `op`
   * that returns that failure as attempt 1 (calling markSent() first when a byte left), so exec classifies
   * it and decides every retry exactly as if it had run the attempt.
   */
  bare(): boolean;
  /** Records the success of a first attempt run outside exec (the retry budget's deposit). */
  succeeded(): void;
}

/**
 * Compiles `options` once (checked here: bad options throw InvalidOptionError now, not per call) into a
 * function that runs operations under them, as cockatiel's policies do. The fast path: hoist it, one per
 * dependency or call site. Plain `retry` and `hedge` objects become policies of this executor's own, so a
 * hedge learns latencies from this executor's calls only. `call` may give a call its own `deadlineMs`,
 * `deadline` or `signal`.
 */
export function executor(options?: ExecuteOptions): Executor {
  const policy = compile(options, 'executor');
  const bare =
    policy.deadlineMs >= MAX_TIMER_MS &&
    policy.deadline === undefined &&
    policy.signal === undefined &&
    policy.attemptTimeoutMs === 0 &&
    policy.hedge === undefined &&
    !policy.admits &&
    policy.events === undefined;
  const budget = policy.budget;
  const run = <T>(op: (attempt: Attempt) => Promise<T>, call?: CallOptions): Promise<T> => {
    const now = coarseNow();
    if (typeof op !== 'function') return Promise.reject(badOp('executor', op));
    if (call === undefined) return start(op, policy, now, policy.deadlineMs, policy.deadline, policy.signal);
    try {
      if (typeof call !== 'object' || call === null) {
        throw new InvalidOptionError('executor', 'call', 'must be an object', call, { argument: true });
      }
      checkPerCall(call, 'executor');
    } catch (error) {
      return Promise.reject(error);
    }
    let deadline = policy.deadline;
    if (call.deadline !== undefined && (deadline === undefined || call.deadline < deadline))
      deadline = call.deadline;
    return start(
      op,
      policy,
      now,
      call.deadlineMs ?? policy.deadlineMs,
      deadline,
      call.signal ?? policy.signal,
    );
  };
  return Object.assign(run, {
    bare: bare ? () => !execAttemptChannel.hasSubscribers : () => false,
    succeeded: budget === undefined ? () => {} : () => budget.deposit(coarseNow()),
  });
}

// execute() compiles each options object once: the last one seen is kept, and one seen again after another
// took its place is kept by identity in a WeakMap. A new literal on every call is compiled on every call
// (cheaply: the common options are checked inline) and never stored, so the WeakMap does not fill with
// one-off objects.
const compiled = new WeakMap<ExecuteOptions, Policy>();
let lastOptions: ExecuteOptions | undefined;
let lastPolicy: Policy | undefined;
let previousOptions: ExecuteOptions | undefined;
let previousPolicy: Policy | undefined;

function policyFor(options: ExecuteOptions): Policy {
  if (options === lastOptions) return lastPolicy as Policy;
  let policy = compiled.get(options);
  if (policy === undefined) {
    if (options === previousOptions) {
      policy = previousPolicy as Policy;
      compiled.set(options, policy);
    } else policy = compile(options);
  }
  previousOptions = lastOptions;
  previousPolicy = lastPolicy;
  lastOptions = options;
  lastPolicy = policy;
  return policy;
}

/**
 * Runs `op` under a deadline, retrying only what is safe to retry. Every call ends by its deadline:
 * resolved with the op's value or rejected with the op's error or a typed LifelineError
 * (OutcomeUnknownError, DeadlineExceededError, RetryBudgetExhaustedError, CircuitOpenError,
 * NoHealthyHostError, ExecAbortedError). A convenience over {@link executor}: an options object reused
 * across calls is compiled once, a new literal per call is compiled per call (a plain `hedge` literal then
 * has no latency history: hoist `executor(options)` for that, and for the fastest calls).
 */
export function execute<T>(op: (attempt: Attempt) => Promise<T>, options?: ExecuteOptions): Promise<T> {
  const now = coarseNow();
  let policy: Policy;
  try {
    if (typeof op !== 'function') throw badOp('execute', op);
    if (options === undefined) policy = DEFAULT_POLICY;
    else {
      policy = policyFor(options);
      if (options.deadline !== undefined || options.signal !== undefined) {
        // Read on every call, so a reused options object may carry a new deadline or signal each time.
        checkPerCall(options);
        return start(op, policy, now, policy.deadlineMs, options.deadline, options.signal);
      }
    }
  } catch (error) {
    return Promise.reject(error);
  }
  return start(op, policy, now, policy.deadlineMs, undefined, undefined);
}

/** Ends an attempt's trace: error (when it failed), then asyncStart/asyncEnd as TracingChannel.tracePromise does. */
function traceSettled(trace: AttemptTrace, result: unknown, error: unknown): void {
  if (error !== undefined) {
    trace.error = error;
    execAttemptChannel.error.publish(trace);
  } else trace.result = result;
  execAttemptChannel.asyncStart.publish(trace);
  execAttemptChannel.asyncEnd.publish(trace);
}
