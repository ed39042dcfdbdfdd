import type { OptionRules } from '../core/options.js';

/** gRPC's retry throttling (gRFC A6), applied to hedges. */
export interface HedgeThrottleOptions {
  /** Tokens at the start and at most. Default 10 (gRPC's example). */
  maxTokens?: number;
  /** Tokens a success gives back. Default 0.1. */
  tokenRatio?: number;
}

export const THROTTLE_RULES: OptionRules = {
  maxTokens: { kind: 'number', min: 1, max: 1000 },
  tokenRatio: { kind: 'number', min: 0.001, max: 1000 },
};

/**
 * gRPC's rule: a failed attempt takes a token, a success gives back `tokenRatio`; while the count is at
 * or below half of `maxTokens` no hedge is sent. When the peers fail together, hedging stops adding load.
 * (lifeline's RetryBudget is Finagle's per-window budget; the issue asks for gRPC's rule here.)
 */
export class HedgeThrottle {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  private tokenCount: number;

  constructor(options: HedgeThrottleOptions) {
    this.maxTokens = options.maxTokens ?? 10;
    this.tokenRatio = options.tokenRatio ?? 0.1;
    this.tokenCount = this.maxTokens;
  }

  get tokens(): number {
    return this.tokenCount;
  }

  success(): void {
    // Full is the usual state: no store then (a double written on every answer was visible in profiles).
    if (this.tokenCount < this.maxTokens) {
      this.tokenCount = Math.min(this.maxTokens, this.tokenCount + this.tokenRatio);
    }
  }

  failure(): void {
    this.tokenCount = Math.max(0, this.tokenCount - 1);
  }

  /** True when a hedge may be sent now. */
  allows(): boolean {
    return this.tokenCount > this.maxTokens / 2;
  }
}
