// RetryBudget: a token bucket fed by successes that bounds retries and hedges.
import { brand } from '../core/brand.js';
import { badNumberArgument, isFiniteAtLeast, type OptionRules, validateOptions } from '../core/options.js';
import { coarseNow } from '../core/time.js';
import { SlidingCounts } from './window.js';

export interface RetryBudgetOptions {
  /** Retries allowed per success within the window. Default 0.2 (Finagle's 20 %), range 0–1. */
  percentCanRetry?: number;
  /** Retries allowed per second even with no successes, so a quiet client can still retry. Default 10. */
  minRetriesPerSec?: number;
  /** The window deposits and withdrawals count in. Default 10 000 ms. */
  ttlMs?: number;
}

/** The rules RetryBudgetOptions are checked against. */
export const BUDGET_RULES: OptionRules = {
  percentCanRetry: { kind: 'number', min: 0, max: 1 },
  minRetriesPerSec: { kind: 'number', min: 0, max: 1_000_000 },
  ttlMs: { kind: 'number', min: 100, max: 3_600_000 },
};

/**
 * A retry budget: a token bucket fed by successes, so a failing dependency receives a bounded fraction of
 * extra load (Finagle's RetryBudget, Envoy's budget_percent, gRPC's retry throttling) instead of a multiple
 * of it. Within any `ttlMs` window, retries (and hedges) ≤ minRetriesPerSec·ttl/1000 + percentCanRetry ×
 * successes. Share one budget among all calls to the same dependency. Optional `now` arguments default to
 * lifeline's one clock (core/time.ts; see CircuitBreaker).
 */
export class RetryBudget {
  readonly percentCanRetry: number;
  readonly minRetriesPerSec: number;
  readonly ttlMs: number;
  /** Retries the window allows with no successes at all. */
  readonly reserve: number;
  // first: successes (deposits), second: retries taken (withdrawals).
  private readonly window: SlidingCounts;

  constructor(options: RetryBudgetOptions = {}) {
    validateOptions('RetryBudget', options, BUDGET_RULES);
    this.percentCanRetry = options.percentCanRetry ?? 0.2;
    this.minRetriesPerSec = options.minRetriesPerSec ?? 10;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.window = new SlidingCounts(this.ttlMs);
    this.reserve = (this.minRetriesPerSec * this.ttlMs) / 1000;
  }

  /** Records a success. */
  deposit(now = coarseNow()): void {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('RetryBudget.deposit', 'now', now);
    this.window.add(now, true);
  }

  /** Takes a token for a retry or hedge; false when the budget is exhausted (and nothing is taken). */
  tryWithdraw(now = coarseNow()): boolean {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('RetryBudget.tryWithdraw', 'now', now);
    this.window.advance(now);
    if (this.balance() < 1) return false;
    this.window.add(now, false);
    return true;
  }

  /** Retries available now. */
  available(now = coarseNow()): number {
    if (!isFiniteAtLeast(now, 0)) throw badNumberArgument('RetryBudget.available', 'now', now);
    this.window.advance(now);
    return Math.max(0, Math.floor(this.balance()));
  }

  private balance(): number {
    return this.reserve + this.percentCanRetry * this.window.first - this.window.second;
  }
}
brand(RetryBudget, 'RetryBudget');
