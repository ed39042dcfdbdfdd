import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';

/** Why a peer was judged down. */
export type DownCause = 'phi' | 'connection' | 'removed' | 'closed';

/** What the set knew about a peer when it gave up on it. */
export interface PeerEvidence {
  readonly cause: DownCause;
  /** The peer's key (its address for DNS members). */
  readonly peer: string;
  /** Phi when the verdict was made (0 when the verdict did not come from silence). */
  readonly phi: number;
  /** Milliseconds since the peer was last heard from (a reply or a heartbeat); NaN if never. */
  readonly lastHeardAgoMs: number;
}

/**
 * The peer this call was waiting on was judged down (silent past the detector's threshold, its connection
 * died, or it left the set), so the call failed at once instead of waiting for TCP to give up. Whatever the
 * peer does with the request now goes unheard. `evidence` says why.
 */
export class PeerLostError extends LifelineError {
  constructor(
    readonly evidence: PeerEvidence,
    cause?: unknown,
  ) {
    const heard = Number.isNaN(evidence.lastHeardAgoMs)
      ? 'no sign of life yet'
      : `last heard ${Math.round(evidence.lastHeardAgoMs)} ms ago`;
    const why: Record<DownCause, string> = {
      phi: `it went silent (phi ${evidence.phi.toFixed(1)}, ${heard})`,
      connection: `its connection died (${heard})`,
      removed: 'it was removed from the peer set',
      closed: 'the peer set was closed',
    };
    super(
      'LIFELINE_PEER_LOST',
      `peer ${evidence.peer} was judged down because ${why[evidence.cause]}, so the call to it was failed at ` +
        'once; send it to another peer (quorum() does), or check the peer and the network to it',
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(PeerLostError, 'PeerLostError');

/**
 * The call took much longer than the peers' recent latency (the adaptive timeout), so it was given up on
 * and its signal aborted; a later answer is ignored. Raise `slowCallFactor` or `minCallTimeoutMs` if the
 * operation is legitimately slower than the rest.
 */
export class PeerSlowError extends LifelineError {
  constructor(
    readonly peer: string,
    readonly timeoutMs: number,
  ) {
    super(
      'LIFELINE_PEER_SLOW',
      `peer ${peer} did not answer within ${Math.round(timeoutMs)} ms, much slower than the peers' recent ` +
        'latency, so the call was given up on; send it to another peer (quorum() does) or raise slowCallFactor',
    );
  }
}
brand(PeerSlowError, 'PeerSlowError');

/** Fewer peers answered than the quorum needs: not enough usable peers, or too many failed. */
export class QuorumFailedError extends LifelineError {
  constructor(
    readonly needed: number,
    readonly succeeded: number,
    readonly usable: number,
    readonly errors: readonly unknown[],
  ) {
    const last = errors[errors.length - 1];
    super(
      'LIFELINE_QUORUM_FAILED',
      `the quorum needed ${needed} answer${needed === 1 ? '' : 's'} and got ${succeeded}: ` +
        `${usable} peer${usable === 1 ? ' was' : 's were'} usable and ${errors.length} call${errors.length === 1 ? '' : 's'} failed. ` +
        'Add peers, lower k, or look at the errors (each failed call is in `errors`, the last is the cause)',
      last === undefined ? undefined : { cause: last },
    );
  }
}
brand(QuorumFailedError, 'QuorumFailedError');

/** The peer set was closed: no further calls are made. */
export class PeerSetClosedError extends LifelineError {
  constructor() {
    super('LIFELINE_PEER_SET_CLOSED', 'the peer set is closed; create a new PeerSet to make calls again');
  }
}
brand(PeerSetClosedError, 'PeerSetClosedError');

/** Re-resolving the DNS membership failed; the set keeps its last known members. */
export class MembershipResolveError extends LifelineError {
  constructor(
    readonly hostname: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      'LIFELINE_PEERS_RESOLVE_FAILED',
      `resolving the peers at ${hostname} failed (${detail}); the set keeps its last known members and tries ` +
        'again at the next interval. Check the DNS name and the resolver',
      { cause },
    );
  }
}
brand(MembershipResolveError, 'MembershipResolveError');
