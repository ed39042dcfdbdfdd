import type { PeerState } from './peer.js';

/** Counters for a whole PeerSet, plus its current census. Ready for a metrics exporter. */
export interface PeerSetStats {
  members: number;
  up: number;
  suspect: number;
  down: number;
  ejected: number;
  /** Calls started (quorum attempts included). */
  calls: number;
  /** Calls that failed with the transport's own error. */
  failures: number;
  /** Calls given up on by the adaptive timeout. */
  slow: number;
  /** Calls failed with PeerLostError because their peer went down. */
  lost: number;
  /** Answers and errors that arrived after their call was over (counted, never logged). */
  lateReplies: number;
  lateErrors: number;
  hedges: number;
  hedgesThrottled: number;
  ejections: number;
  transitions: number;
  heartbeats: number;
  quorums: number;
  quorumsFailed: number;
  /** Times this process stalled longer than the acceptable pause (every peer's silence restarted after it). */
  localPauses: number;
  /** Answers timed (latency, hedge window, detector): a healthy peer's are sampled, not all timed. */
  timedAnswers: number;
}

export function newStats(): PeerSetStats {
  return {
    members: 0,
    up: 0,
    suspect: 0,
    down: 0,
    ejected: 0,
    calls: 0,
    failures: 0,
    slow: 0,
    lost: 0,
    lateReplies: 0,
    lateErrors: 0,
    hedges: 0,
    hedgesThrottled: 0,
    ejections: 0,
    transitions: 0,
    heartbeats: 0,
    quorums: 0,
    quorumsFailed: 0,
    localPauses: 0,
    timedAnswers: 0,
  };
}

/** One peer as peerStats() shows it. */
export interface PeerStats {
  key: string;
  state: PeerState;
  phi: number;
  /** Moving average of its answers' latency; NaN before the first. */
  latencyMs: number;
  outstanding: number;
  ejected: boolean;
  timesEjected: number;
  calls: number;
  failures: number;
}
