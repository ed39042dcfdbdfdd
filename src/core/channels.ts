// The diagnostics_channel names lifeline publishes on (docs/observe.md lists the payloads). They live in core so
// the layers that publish (socket, pool, exec) and the one that subscribes (observe) share one definition.
// Publishing is guarded by `hasSubscribers` at every site: with nobody subscribed a site costs one property read.
import * as diagnostics_channel from 'node:diagnostics_channel';

/** TracingChannel names, as OpenTelemetry's diagnostics_channel instrumentations expect them. */
export const CHANNEL_NAMES = {
  /** Pool.acquire: start → asyncEnd when a resource is lent (or error). */
  poolAcquire: 'lifeline:pool:acquire',
  /** One attempt of execute(): start → asyncEnd with its outcome and classification. */
  execAttempt: 'lifeline:exec:attempt',
  /** A LiveSocket dialing or waiting for its first connect: start → asyncEnd on open (or error). */
  socketConnect: 'lifeline:socket:connect',
  /** A plain channel: a LiveSocket learned it is dead (one message per socket). */
  socketDeath: 'lifeline:socket:death',
} as const;

/** Plain channels an adapter publishes on (payloads: VerdictMessage, DisagreementMessage in observe). */
export const CHANNEL_EVENTS = {
  /** A lost-reply verification reached a verdict: { protocol, endpoint, verdict }. */
  verifyVerdict: 'lifeline:verify:verdict',
  /** A driver's own connected/ready flag disagreed with lifeline's socket state: { driver, flag, endpoint }. */
  driverDisagreement: 'lifeline:driver:disagreement',
} as const;

/** The payload of `lifeline:verify:verdict`. */
export interface VerdictMessage {
  readonly protocol: 'postgres' | 'mysql' | 'redis';
  readonly endpoint: string;
  /** 'running': the statement still runs; 'lost': the reply is lost; 'unreachable': no answer from the server. */
  readonly verdict: 'running' | 'lost' | 'unreachable';
}

/** The payload of `lifeline:driver:disagreement`. */
export interface DisagreementMessage {
  readonly driver: 'pg' | 'mysql2' | 'ioredis' | 'redis';
  /** The driver's flag that disagreed, e.g. 'ioredis.status=ready', 'pg._connected'. */
  readonly flag: string;
  readonly endpoint: string;
}

export const verifyVerdictChannel = diagnostics_channel.channel(CHANNEL_EVENTS.verifyVerdict);
export const driverDisagreementChannel = diagnostics_channel.channel(CHANNEL_EVENTS.driverDisagreement);

export const poolAcquireChannel = diagnostics_channel.tracingChannel(CHANNEL_NAMES.poolAcquire);
export const execAttemptChannel = diagnostics_channel.tracingChannel(CHANNEL_NAMES.execAttempt);
export const socketConnectChannel = diagnostics_channel.tracingChannel(CHANNEL_NAMES.socketConnect);
export const socketDeathChannel = diagnostics_channel.channel(CHANNEL_NAMES.socketDeath);
