import { brand } from '../core/brand.js';
import { badNumberArgument, isFiniteAtLeast, type OptionRules, validateOptions } from '../core/options.js';

/** The phi-accrual detector's settings, named and defaulted as Akka's `akka.cluster.failure-detector`. */
export interface PhiOptions {
  /** Phi at or above which the peer is judged down. Default 8 (Akka `threshold`). */
  threshold?: number;
  /** Inter-arrival times kept. Default 1000 (Akka `max-sample-size`). */
  maxSampleSize?: number;
  /** The standard deviation never counts as lower than this. Default 100 ms (Akka `min-std-deviation`). */
  minStdDeviationMs?: number;
  /** Added to the mean interval: a pause this long is not yet suspicious. Default 3000 ms (Akka `acceptable-heartbeat-pause`). */
  acceptableHeartbeatPauseMs?: number;
  /** The interval assumed before any sample. Default 1000 ms (Akka's `heartbeat-interval`, its first estimate). */
  firstHeartbeatEstimateMs?: number;
}

// Phi when the silence equals the distribution's mean: −log10(1 − 0.5).
const PHI_AT_MEAN = Math.log10(2) + 1e-9;

export const PHI_RULES: OptionRules = {
  threshold: { kind: 'number', min: 0.1, max: 1000 },
  maxSampleSize: { kind: 'number', min: 2, max: 100_000, integer: true },
  minStdDeviationMs: { kind: 'number', min: 0.001, max: 3_600_000 },
  acceptableHeartbeatPauseMs: { kind: 'number', min: 0, max: 3_600_000 },
  firstHeartbeatEstimateMs: { kind: 'number', min: 0.001, max: 3_600_000 },
};

/**
 * Akka's phi for a silence of `elapsedMs` given the intervals' mean and standard deviation: -log10 of the
 * probability that a heartbeat is still to come, with the normal CDF replaced by Akka's logistic
 * approximation (error under 0.01 %). Phi 1 means a 10 % chance of a false verdict, 8 means 10⁻⁸.
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return elapsedMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

/**
 * A phi-accrual failure detector (Hayashibara et al.; Akka's PhiAccrualFailureDetector): instead of a
 * yes/no timeout it says how unlikely the current silence is, given the intervals seen so far. The
 * intervals live in a ring with running sums, so a heartbeat and a phi reading are O(1) and allocate
 * nothing. Starts, as Akka's does, with two intervals around `firstHeartbeatEstimateMs` (± a quarter).
 * An interval that ends a suspicious silence is not recorded (Akka: one long pause must not skew the stats).
 */
export class PhiAccrualDetector {
  readonly threshold: number;
  readonly maxSampleSize: number;
  readonly minStdDeviationMs: number;
  readonly acceptableHeartbeatPauseMs: number;
  readonly firstHeartbeatEstimateMs: number;
  private readonly ring: Float64Array;
  private head = 0;
  private size = 0;
  private sum = 0;
  private squares = 0;
  private last = Number.NaN;

  constructor(options: PhiOptions = {}) {
    validateOptions('PhiAccrualDetector', options, PHI_RULES);
    this.threshold = options.threshold ?? 8;
    this.maxSampleSize = options.maxSampleSize ?? 1000;
    this.minStdDeviationMs = options.minStdDeviationMs ?? 100;
    this.acceptableHeartbeatPauseMs = options.acceptableHeartbeatPauseMs ?? 3000;
    this.firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? 1000;
    this.ring = new Float64Array(this.maxSampleSize);
    const quarter = this.firstHeartbeatEstimateMs / 4;
    this.add(this.firstHeartbeatEstimateMs - quarter);
    this.add(this.firstHeartbeatEstimateMs + quarter);
  }

  /** The time of the last heartbeat, or NaN before the first. */
  get lastHeartbeatAt(): number {
    return this.last;
  }

  /** Intervals recorded (the two seeded ones included), at most maxSampleSize. */
  get samples(): number {
    return this.size;
  }

  /** The mean interval, before the acceptable pause is added. */
  get meanMs(): number {
    return this.sum / this.size;
  }

  /** The intervals' standard deviation, before minStdDeviationMs is applied. */
  get stdDeviationMs(): number {
    const mean = this.sum / this.size;
    return Math.sqrt(Math.max(0, this.squares / this.size - mean * mean));
  }

  /** Records a heartbeat (or any reply) arriving at `now`. */
  heartbeat(now: number): void {
    if (!isFiniteAtLeast(now, Number.NEGATIVE_INFINITY)) {
      throw badNumberArgument('PhiAccrualDetector.heartbeat', 'now', now, Number.NEGATIVE_INFINITY);
    }
    const last = this.last;
    if (!Number.isNaN(last) && now >= last) {
      const interval = now - last;
      // Up to the mean plus the acceptable pause, phi is at most log10(2) ≈ 0.301 (the normal CDF at or
      // below its mean): under any threshold above that, no need to compute it (once per answer).
      if (
        (interval <= this.sum / this.size + this.acceptableHeartbeatPauseMs &&
          this.threshold > PHI_AT_MEAN) ||
        this.phi(now) < this.threshold
      ) {
        this.add(interval);
      }
    }
    this.last = now;
  }

  /**
   * Starts measuring silence from `now` without recording an interval: for a peer that is only heard
   * from while it is asked something, the silence before a request is not the peer's fault.
   */
  restart(now: number): void {
    this.last = now;
  }

  /** How unlikely the silence since the last heartbeat is at `now`; 0 before the first heartbeat. */
  phi(now: number): number {
    if (Number.isNaN(this.last)) return 0;
    const mean = this.sum / this.size;
    const deviation = Math.sqrt(Math.max(0, this.squares / this.size - mean * mean));
    return phiOf(
      now - this.last,
      mean + this.acceptableHeartbeatPauseMs,
      deviation > this.minStdDeviationMs ? deviation : this.minStdDeviationMs,
    );
  }

  /** True while phi is under the threshold. */
  isAvailable(now: number): boolean {
    return this.phi(now) < this.threshold;
  }

  private add(interval: number): void {
    if (this.size === this.maxSampleSize) {
      const old = this.ring[this.head]!;
      this.sum -= old;
      this.squares -= old * old;
    } else {
      this.size++;
    }
    this.ring[this.head] = interval;
    this.head = this.head + 1 === this.maxSampleSize ? 0 : this.head + 1;
    this.sum += interval;
    this.squares += interval * interval;
  }
}
brand(PhiAccrualDetector, 'peers.PhiAccrualDetector');
