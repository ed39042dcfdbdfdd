// RetryPolicy: how many attempts, and the full-jitter delay between them (core/backoff.ts).
import { fullJitterMs } from '../core/backoff.js';
import { brand } from '../core/brand.js';
import { InvalidOptionError, type OptionRules, validateOptions } from '../core/options.js';

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3, range 1–100. */
  maxAttempts?: number;
  /** Cap of the first retry's delay. Default 50 ms. */
  baseDelayMs?: number;
  /** Cap of any retry's delay. Default 2000 ms, at least baseDelayMs. */
  maxDelayMs?: number;
}

const RULES: OptionRules = {
  maxAttempts: { kind: 'number', min: 1, max: 100, integer: true },
  baseDelayMs: { kind: 'number', min: 0, max: 3_600_000 },
  maxDelayMs: { kind: 'number', min: 0, max: 3_600_000 },
};

/**
 * How many attempts and how long between them: exponential backoff with full jitter, the delay before
 * retry n drawn uniformly from [0, min(maxDelayMs, baseDelayMs·2^(n−1))). Full jitter spreads a crowd of
 * failing clients evenly instead of letting them retry in synchronized waves.
 */
export class RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;

  constructor(options: RetryOptions = {}) {
    validateOptions('RetryPolicy', options, RULES);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? Math.max(2000, this.baseDelayMs);
    if (this.maxDelayMs < this.baseDelayMs) {
      throw new InvalidOptionError(
        'RetryPolicy',
        'maxDelayMs',
        `must be ≥ baseDelayMs (${this.baseDelayMs})`,
        this.maxDelayMs,
      );
    }
  }

  /** The delay before retry `retry` (1 for the first retry). `random` is injectable for tests. */
  delayMs(retry: number, random: () => number = Math.random): number {
    if (typeof retry !== 'number' || !(retry >= 1) || typeof random !== 'function') {
      const [name, requirement, got] =
        typeof random !== 'function'
          ? ['random', 'must be a function () => number in [0, 1)', random]
          : ['retry', 'must be a number ≥ 1 (1 for the first retry)', retry];
      throw new InvalidOptionError('RetryPolicy.delayMs', name, requirement, got, { argument: true });
    }
    return fullJitterMs(retry, this.baseDelayMs, this.maxDelayMs, random);
  }
}
brand(RetryPolicy, 'RetryPolicy');
