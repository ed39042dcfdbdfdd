// CircuitBreaker: one target's closed/open/half-open state, driven by the calls' verdicts.
import { backoffCeilingMs } from '../core/backoff.js';
import { brand } from '../core/brand.js';
import { Listeners } from '../core/events.js';
import {
  badNumberArgument,
  InvalidOptionError,
  isFiniteAtLeast,
  type OptionRules,
  validateOptions,
} from '../core/options.js';
import { coarseNow } from '../core/time.js';
import { SlidingCounts } from './window.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStateEvent {
  readonly breaker: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** On lifeline's clock (core/time.ts): monotonic ms, epoch-aligned (starts at Date.now()). */
  readonly at: number;
  /** When it opened: the earliest time a probe is let through (same clock as `at`). */
  readonly retryAt?: number;
}

export interface CircuitBreakerOptions {
  /** Names the protected target in errors and events. Default 'circuit'. */
  name?: string;
  /** Open after this many failures in a row. Default 5, range 1–10 000. */
  consecutiveFailures?: number;
  /** Open when failures / calls within the window reach this. Default 0.5, range (0, 1]. */
  failureRate?: number;
  /** The failure rate counts only once the window holds this many calls. Default 20. */
  minimumCalls?: number;
  /** The failure-rate window. Default 10 000 ms. */
  windowMs?: number;
  /** How long it stays open before a probe. Default 5000 ms; doubled on each failed probe up to maxCoolDownMs. */
  coolDownMs?: number;
  /** Default 10 × coolDownMs. */
  maxCoolDownMs?: number;
  /** Each cool-down is spread uniformly ±this fraction so a fleet does not probe in lock-step. Default 0.2. */
  coolDownJitter?: number;
  /** Calls let through while half-open; all must succeed to close. Default 1. */
  halfOpenProbes?: number;
  onStateChange?: (event: BreakerStateEvent) => void;
}

/** The rules CircuitBreakerOptions are checked against (HostSet checks its `breaker` option with them). */
export const BREAKER_RULES: OptionRules = {
  name: { kind: 'string' },
  consecutiveFailures: { kind: 'number', min: 1, max: 10_000, integer: true },
  failureRate: { kind: 'number', min: 0, max: 1 },
  minimumCalls: { kind: 'number', min: 1, max: 1_000_000, integer: true },
  windowMs: { kind: 'number', min: 100, max: 3_600_000 },
  coolDownMs: { kind: 'number', min: 1, max: 3_600_000 },
  maxCoolDownMs: { kind: 'number', min: 1, max: 86_400_000 },
  coolDownJitter: { kind: 'number', min: 0, max: 1 },
  halfOpenProbes: { kind: 'number', min: 1, max: 1000, integer: true },
  onStateChange: { kind: 'function' },
};

// The only moves the state machine makes.
const TRANSITIONS: Readonly<Record<BreakerState, readonly BreakerState[]>> = {
  closed: ['open'],
  open: ['half-open', 'closed'],
  'half-open': ['closed', 'open'],
};

/** A permit from `acquire`; pass it back to exactly one of success, failure or release. */
export type BreakerPermit = number;
/** `acquire` returned this: the call must not be made. */
export const REJECTED: BreakerPermit = -1;

/**
 * A circuit breaker for one target. It opens on `consecutiveFailures` failures in a row or on a failure
 * rate over a sliding window, stays open for a jittered cool-down, then lets `halfOpenProbes` calls through:
 * if all succeed it closes, if one fails it opens again for longer. It owns no timer: the move to half-open
 * happens when the next call asks, so an idle breaker costs nothing and never holds the process open.
 *
 * Every optional `now` argument defaults to lifeline's one clock (core/time.ts), read coarsely: monotonic
 * milliseconds aligned to the epoch at process start, so it never steps back with the wall clock. A caller
 * passing its own `now` (tests, simulations) must pass it on one clock throughout; a Date.now() value is
 * within a few ms of the default unless the wall clock has been stepped since the process started.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly consecutiveFailures: number;
  readonly failureRate: number;
  readonly minimumCalls: number;
  readonly windowMs: number;
  readonly coolDownMs: number;
  readonly maxCoolDownMs: number;
  readonly coolDownJitter: number;
  readonly halfOpenProbes: number;

  private current: BreakerState = 'closed';
  // Bumped on each transition, so a call that began under an earlier state cannot decide a probe.
  private generation = 0;
  private failuresInRow = 0;
  private reopenAt = 0;
  private failedProbes = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private readonly listeners = new Listeners<BreakerStateEvent>();
  // first: successes, second: failures.
  private readonly window: SlidingCounts;

  constructor(options: CircuitBreakerOptions = {}) {
    validateOptions('CircuitBreaker', options, BREAKER_RULES);
    this.name = options.name ?? 'circuit';
    this.consecutiveFailures = options.consecutiveFailures ?? 5;
    this.failureRate = options.failureRate ?? 0.5;
    this.minimumCalls = options.minimumCalls ?? 20;
    this.windowMs = options.windowMs ?? 10_000;
    this.coolDownMs = options.coolDownMs ?? 5000;
    this.maxCoolDownMs = options.maxCoolDownMs ?? this.coolDownMs * 10;
    this.coolDownJitter = options.coolDownJitter ?? 0.2;
    this.halfOpenProbes = options.halfOpenProbes ?? 1;
    if (this.failureRate === 0) {
      throw new InvalidOptionError('CircuitBreaker', 'failureRate', 'must be a number in (0, 1]', 0);
    }
    if (this.maxCoolDownMs < this.coolDownMs) {
      throw new InvalidOptionError(
        'CircuitBreaker',
        'maxCoolDownMs',
        `must be ≥ coolDownMs (${this.coolDownMs})`,
        this.maxCoolDownMs,
      );
    }
    if (options.onStateChange !== undefined) this.listeners.add(options.onStateChange);
    this.window = new SlidingCounts(this.windowMs);
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Ms until a probe may pass (0 unless open). */
  retryAfterMs(now = coarseNow()): number {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.retryAfterMs', 'now', now);
    return this.current === 'open' ? Math.max(0, this.reopenAt - now) : 0;
  }

  /** Whether a call could be admitted now, without taking a permit. */
  allows(now = coarseNow()): boolean {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.allows', 'now', now);
    if (this.current === 'closed') return true;
    if (this.current === 'open') return now >= this.reopenAt;
    return this.probesInFlight < this.halfOpenProbes;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (event: BreakerStateEvent) => void): () => void {
    if (typeof listener !== 'function') {
      throw new InvalidOptionError(
        'CircuitBreaker.onStateChange',
        'listener',
        'must be a function',
        listener,
        {
          argument: true,
        },
      );
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Admits a call (a permit) or refuses it (REJECTED). */
  acquire(now = coarseNow()): BreakerPermit {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.acquire', 'now', now);
    if (this.current === 'closed') return this.generation;
    if (this.current === 'open') {
      if (now < this.reopenAt) return REJECTED;
      this.transition('half-open', now);
    }
    if (this.probesInFlight >= this.halfOpenProbes) return REJECTED;
    this.probesInFlight++;
    return this.generation;
  }

  success(permit: BreakerPermit, now = coarseNow()): void {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.success', 'now', now);
    this.window.add(now, true);
    this.failuresInRow = 0;
    if (permit !== this.generation || this.current !== 'half-open') return;
    this.probesInFlight--;
    if (++this.probeSuccesses >= this.halfOpenProbes) {
      this.failedProbes = 0;
      this.transition('closed', now);
    }
  }

  failure(permit: BreakerPermit, now = coarseNow()): void {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.failure', 'now', now);
    this.window.add(now, false);
    this.failuresInRow++;
    if (permit !== this.generation) return;
    if (this.current === 'half-open') {
      this.failedProbes++;
      this.open(now);
      return;
    }
    if (this.current !== 'closed') return;
    const calls = this.window.first + this.window.second;
    if (
      this.failuresInRow >= this.consecutiveFailures ||
      (calls >= this.minimumCalls && this.window.second / calls >= this.failureRate)
    ) {
      this.open(now);
    }
  }

  /** Gives a permit back without a verdict (the call was aborted or superseded). */
  release(permit: BreakerPermit): void {
    if (permit === this.generation && this.current === 'half-open') this.probesInFlight--;
  }

  /** Closes the breaker now, e.g. after out-of-band health probes succeeded. */
  reset(now = coarseNow()): void {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.reset', 'now', now);
    if (this.current === 'closed') return;
    this.failedProbes = 0;
    this.transition('closed', now);
  }

  /** Opens the breaker now, e.g. when a health probe saw the host down. */
  trip(now = coarseNow()): void {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('CircuitBreaker.trip', 'now', now);
    if (this.current !== 'open') this.open(now);
  }

  private open(now: number): void {
    // The cool-down's ceiling grows like a retry backoff; the jitter around it is ±coolDownJitter, not full.
    const base = backoffCeilingMs(this.failedProbes + 1, this.coolDownMs, this.maxCoolDownMs);
    const jittered = base * (1 - this.coolDownJitter + 2 * this.coolDownJitter * Math.random());
    this.reopenAt = now + jittered;
    this.transition('open', now);
  }

  private transition(to: BreakerState, now: number): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(to)) throw new Error(`CircuitBreaker: no transition ${from} → ${to}`);
    this.current = to;
    this.generation++;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    if (to === 'closed') {
      // A fresh start: old failures must not re-open a breaker that just proved the target healthy.
      this.failuresInRow = 0;
      this.window.clear();
    }
    const event: BreakerStateEvent =
      to === 'open'
        ? { breaker: this.name, from, to, at: now, retryAt: this.reopenAt }
        : { breaker: this.name, from, to, at: now };
    // core/events.ts's rule: a throwing listener cannot corrupt the breaker's state; its error is rethrown later.
    this.listeners.emit(event);
  }
}
brand(CircuitBreaker, 'CircuitBreaker');
