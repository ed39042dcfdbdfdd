// The `lifeline-net/peers` entry point: PeerSet, quorum calls and their options.
export {
  type DownCause,
  MembershipResolveError,
  type PeerEvidence,
  PeerLostError,
  PeerSetClosedError,
  PeerSlowError,
  QuorumFailedError,
} from './errors.js';
export type { IncidentLine, PeerLogger } from './incidents.js';
export {
  type DnsMembershipOptions,
  type DnsResolver,
  dnsMembership,
  type Membership,
  type PeerAddress,
} from './membership.js';
export type { HeartbeatOptions, HedgeOptions, PeerCall, PeerSetOptions } from './options.js';
export type { OutlierOptions } from './outlier.js';
export type { PeerState } from './peer.js';
export { type DeathSource, PeerSet, type PeerSetEvents } from './peer-set.js';
export { PhiAccrualDetector, type PhiOptions, phiOf } from './phi.js';
export type { PeerResult, QuorumOptions } from './quorum.js';
export type { PeerSetStats, PeerStats } from './stats.js';
export type { HedgeThrottleOptions } from './throttle.js';
