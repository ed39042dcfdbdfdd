import type { OptionRules } from '../core/options.js';

/** Envoy's consecutive-failure outlier detection, with Envoy's defaults. */
export interface OutlierOptions {
  /** Failures (errors and adaptive timeouts) in a row that eject a peer. Default 5 (Envoy `consecutive_5xx`). */
  consecutiveFailures?: number;
  /** Ejection time is this × times ejected. Default 30 000 ms (Envoy `base_ejection_time`). */
  baseEjectionMs?: number;
  /** Ejection time never exceeds this (or baseEjectionMs, if larger). Default 300 000 ms (Envoy `max_ejection_time`). */
  maxEjectionMs?: number;
  /** At most this share of the peers is ejected at once, but always one. Default 10 (Envoy `max_ejection_percent`). */
  maxEjectedPercent?: number;
}

export const OUTLIER_RULES: OptionRules = {
  consecutiveFailures: { kind: 'number', min: 1, max: 1_000_000, integer: true },
  baseEjectionMs: { kind: 'number', min: 0, max: 86_400_000 },
  maxEjectionMs: { kind: 'number', min: 0, max: 86_400_000 },
  maxEjectedPercent: { kind: 'number', min: 0, max: 100 },
};

/** One peer's record for outlier detection. */
export class OutlierRecord {
  consecutiveFailures = 0;
  timesEjected = 0;
  /** Clock time the ejection ends; 0 when not ejected. */
  ejectedUntil = 0;
}

/**
 * Ejects a peer that fails (or is given up on as slow) `consecutiveFailures` times in a row, for
 * base × times-ejected (capped), unless `maxEjectedPercent` of the set is already out — though one peer
 * always may be, as in Envoy. An ejected peer is chosen only when no other will do.
 */
export class OutlierPolicy {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedPercent: number;

  constructor(options: OutlierOptions) {
    this.consecutiveFailures = options.consecutiveFailures ?? 5;
    this.baseEjectionMs = options.baseEjectionMs ?? 30_000;
    this.maxEjectionMs = Math.max(options.maxEjectionMs ?? 300_000, this.baseEjectionMs);
    this.maxEjectedPercent = options.maxEjectedPercent ?? 10;
  }

  success(record: OutlierRecord): void {
    record.consecutiveFailures = 0;
  }

  /** Counts a failure; true when it ejects the peer (its `ejectedUntil` is then set). */
  failure(record: OutlierRecord, now: number, ejected: number, total: number): boolean {
    record.consecutiveFailures++;
    if (record.consecutiveFailures < this.consecutiveFailures || record.ejectedUntil > now) return false;
    if (ejected >= Math.max(1, Math.floor((total * this.maxEjectedPercent) / 100))) return false;
    record.timesEjected++;
    record.consecutiveFailures = 0;
    record.ejectedUntil = now + Math.min(this.baseEjectionMs * record.timesEjected, this.maxEjectionMs);
    return true;
  }
}
