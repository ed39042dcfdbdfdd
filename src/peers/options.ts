// PeerSet's options and the transport type (one call to one peer), checked once.
import { InvalidOptionError, type OptionRules, validateOptions } from '../core/options.js';
import type { IncidentLine, PeerLogger } from './incidents.js';
import type { Membership } from './membership.js';
import { OUTLIER_RULES, type OutlierOptions } from './outlier.js';
import { PHI_RULES, type PhiOptions } from './phi.js';
import { type HedgeThrottleOptions, THROTTLE_RULES } from './throttle.js';

/** The transport: one call to one peer. Honour `signal`: it aborts when the answer is no longer wanted. */
export type PeerCall<P, T> = (peer: P, signal: AbortSignal) => Promise<T>;

export interface HeartbeatOptions<P> {
  /** Sends one heartbeat; resolving means the peer is alive. */
  send: (peer: P, signal: AbortSignal) => Promise<unknown>;
  /** How often. Default 1000 ms (Akka's heartbeat-interval). */
  intervalMs?: number;
}

export interface HedgeOptions extends HedgeThrottleOptions {
  /** A fixed hedge delay. Without it: the latency 95 % of recent calls stayed under (after 20 calls). */
  delayMs?: number;
  /** That percentile. Default 0.95. */
  percentile?: number;
}

export interface PeerSetOptions<P> {
  /** The members: a list, or a Membership (e.g. dnsMembership()). Default none (use add()). */
  members?: readonly P[] | Membership<P>;
  /** A peer's identity. Default: the string itself, or `host:port` for `{ host, port }`. */
  key?: (peer: P) => string;
  /** Heartbeats feed the detector; without them it is fed by replies while calls are outstanding. */
  heartbeat?: HeartbeatOptions<P>;
  /** The phi-accrual detector (Akka's names and defaults). */
  detector?: PhiOptions;
  /** Phi at which an up peer becomes suspect. Default 3 (a 1-in-1000 chance the silence is normal). */
  suspectPhi?: number;
  /** Heartbeats in a row that bring a down peer back. Default 3. */
  recoverAfter?: number;
  /** Without heartbeats: a down peer gets a trial call after this long. Default 30 000 ms. */
  retryDownAfterMs?: number;
  /** A call is given up on after this × the peers' median latency. Default 5. */
  slowCallFactor?: number;
  /** The adaptive timeout never goes below this. Default 250 ms. */
  minCallTimeoutMs?: number;
  /** …nor above this (also the timeout before any latency is known). Default 30 000 ms. */
  maxCallTimeoutMs?: number;
  outlier?: OutlierOptions;
  hedge?: HedgeOptions;
  /** Receives the collapsed incident lines. Default: console.warn of the message. */
  logger?: PeerLogger;
  /** How long a burst collects before its line is written. Default 1000 ms. */
  logWindowMs?: number;
  /** How often every peer's phi is checked. Default 100 ms; 0 = only when check() is called. */
  checkIntervalMs?: number;
  /** Monotonic milliseconds. Default performance.now. */
  clock?: () => number;
}

const RULES: OptionRules = {
  members: { kind: 'object', rules: {}, open: true },
  key: { kind: 'function' },
  heartbeat: {
    kind: 'object',
    rules: {
      send: { kind: 'function', required: true },
      intervalMs: { kind: 'number', min: 1, max: 3_600_000 },
    },
  },
  detector: { kind: 'object', rules: PHI_RULES },
  suspectPhi: { kind: 'number', min: 0, max: 1000 },
  recoverAfter: { kind: 'number', min: 1, max: 1000, integer: true },
  retryDownAfterMs: { kind: 'number', min: 0, max: 86_400_000 },
  slowCallFactor: { kind: 'number', min: 1, max: 1000 },
  minCallTimeoutMs: { kind: 'number', min: 1, max: 86_400_000 },
  maxCallTimeoutMs: { kind: 'number', min: 1, max: 86_400_000 },
  outlier: { kind: 'object', rules: OUTLIER_RULES },
  hedge: {
    kind: 'object',
    rules: {
      ...THROTTLE_RULES,
      delayMs: { kind: 'number', min: 0, max: 3_600_000 },
      percentile: { kind: 'number', min: 0.001, max: 0.999 },
    },
  },
  logger: { kind: 'function' },
  logWindowMs: { kind: 'number', min: 0, max: 3_600_000 },
  checkIntervalMs: { kind: 'number', min: 0, max: 3_600_000 },
  clock: { kind: 'function' },
};

export function defaultLogger(line: IncidentLine): void {
  console.warn(`lifeline-net/peers: ${line.message}`);
}

/** A key for the common peer shapes; other shapes need the `key` option. */
export function defaultKey(peer: unknown): string {
  if (typeof peer === 'string') return peer;
  if (typeof peer === 'object' && peer !== null && 'host' in peer && 'port' in peer) {
    return `${String(peer.host)}:${String(peer.port)}`;
  }
  throw new InvalidOptionError(
    'PeerSet',
    'key',
    'is required when peers are neither strings nor { host, port } objects',
    peer,
  );
}

/** Checks the options once, at construction. */
export function checkPeerSetOptions(options: PeerSetOptions<unknown>): void {
  validateOptions('PeerSet', options, RULES);
  const members = options.members;
  if (members !== undefined && !Array.isArray(members)) {
    const m = members as Partial<Membership<unknown>>;
    if (typeof m.start !== 'function' || typeof m.stop !== 'function') {
      throw new InvalidOptionError(
        'PeerSet',
        'members',
        'must be an array or a Membership (start, stop)',
        members,
      );
    }
  }
  const min = options.minCallTimeoutMs ?? 250;
  const max = options.maxCallTimeoutMs ?? 30_000;
  if (min > max) {
    throw new InvalidOptionError(
      'PeerSet',
      'minCallTimeoutMs',
      `must not exceed maxCallTimeoutMs (${max})`,
      min,
    );
  }
}
