import { AttemptList } from './attempt.js';
import { OutlierRecord } from './outlier.js';
import { PhiAccrualDetector, type PhiOptions } from './phi.js';

/**
 * A peer's health: `up`, `suspect` (silence is getting unlikely, or its connection failed: chosen last),
 * `down` (out of the usable set; its outstanding calls have failed). Only these moves exist.
 */
export type PeerState = 'up' | 'suspect' | 'down';

export const peerTransitions: Readonly<Record<PeerState, readonly PeerState[]>> = {
  up: ['suspect', 'down'],
  suspect: ['up', 'down'],
  down: ['suspect', 'up'],
};

// Weight of the newest latency in the moving average: about the last 5 calls dominate.
const LATENCY_ALPHA = 0.3;

/** Everything the set tracks about one peer. */
export class PeerEntry<P> {
  state: PeerState = 'up';
  readonly detector: PhiAccrualDetector;
  readonly outlier = new OutlierRecord();
  /** Calls waiting on this peer: failing one settles its caller at once. */
  readonly outstanding = new AttemptList();
  /** Moving average of answered calls' latency (a give-up counts as its timeout); NaN before any. */
  latencyMs = Number.NaN;
  /** When the peer went down (clock time). */
  downAt = 0;
  /** Heartbeats (or, without heartbeats, successes) in a row while down or suspect. */
  evidence = 0;
  heartbeat: AbortController | undefined;
  calls = 0;
  failures = 0;
  /**
   * Its next answer is timed (clock, latency, hedge window, detector): set at first, by every check tick,
   * every state change and every failure, so a peer is sampled at least once per check interval it
   * answers in, besides one answer in TIME_EVERY (attempt.ts).
   */
  timeNext = true;
  /** Answers since the last timed one. */
  untimed = 0;

  constructor(
    readonly key: string,
    readonly peer: P,
    detector: PhiOptions,
  ) {
    this.detector = new PhiAccrualDetector(detector);
  }

  recordLatency(ms: number): void {
    this.latencyMs = !Number.isNaN(this.latencyMs)
      ? this.latencyMs + LATENCY_ALPHA * (ms - this.latencyMs)
      : ms;
  }

  ejected(now: number): boolean {
    return this.outlier.ejectedUntil > now;
  }
}
