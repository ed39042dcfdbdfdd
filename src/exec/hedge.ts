// HedgePolicy: when a second attempt of an idempotent operation starts (the observed latency percentile).
import { brand } from '../core/brand.js';
import {
  badNumberArgument,
  InvalidOptionError,
  isFiniteAtLeast,
  type OptionRules,
  validateOptions,
} from '../core/options.js';

export interface HedgeOptions {
  /** A fixed delay before the hedge. Without it, the delay is the observed latency at `percentile`. */
  delayMs?: number;
  /** Observed-latency percentile that triggers the hedge. Default 0.95, range (0, 1). */
  percentile?: number;
}

const RULES: OptionRules = {
  delayMs: { kind: 'number', min: 0, max: 3_600_000 },
  percentile: { kind: 'number', min: 0, max: 0.999 },
};

const SAMPLES = 256;
// Below this many observations a percentile is noise, so no hedge is sent.
const MIN_SAMPLES = 20;

/**
 * When to send a second attempt of an idempotent operation: after `delayMs`, or after the latency that
 * `percentile` of recent successful attempts stayed under. Keeps the last 256 latencies in a ring; the
 * percentile is recomputed every 16 new samples, not per call.
 */
export class HedgePolicy {
  readonly fixedDelayMs: number | undefined;
  readonly percentile: number;
  private readonly samples = new Float64Array(SAMPLES);
  private count = 0;
  private cachedDelay: number | undefined;
  private cachedAt = -1;

  constructor(options: HedgeOptions = {}) {
    validateOptions('hedge', options, RULES);
    this.fixedDelayMs = options.delayMs;
    this.percentile = options.percentile ?? 0.95;
    if (this.percentile === 0)
      throw new InvalidOptionError('hedge', 'percentile', 'must be a number in (0, 0.999]', 0);
  }

  /** Records a successful attempt's latency. */
  record(ms: number): void {
    if (!isFiniteAtLeast(ms, Number.NEGATIVE_INFINITY)) {
      throw badNumberArgument('HedgePolicy.record', 'ms', ms, Number.NEGATIVE_INFINITY);
    }
    // Wall-clock latencies go negative when the clock steps back: such a sample counts as 0.
    this.samples[this.count % SAMPLES] = ms > 0 ? ms : 0;
    this.count++;
  }

  /** The delay before hedging, or undefined when there is no fixed delay and too little history. */
  delayMs(): number | undefined {
    if (this.fixedDelayMs !== undefined) return this.fixedDelayMs;
    if (this.count < MIN_SAMPLES) return undefined;
    if (this.cachedAt < 0 || this.count - this.cachedAt >= 16) {
      const sorted = this.samples.slice(0, Math.min(this.count, SAMPLES)).sort();
      this.cachedDelay = sorted[Math.min(sorted.length - 1, Math.floor(this.percentile * sorted.length))];
      this.cachedAt = this.count;
    }
    return this.cachedDelay;
  }
}
brand(HedgePolicy, 'HedgePolicy');
