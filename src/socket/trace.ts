// LiveSocket's diagnostics_channel messages (names in core/channels.ts, payloads in docs/observe.md): the
// connect TracingChannel and the death channel. Built only while someone subscribes.
import { socketConnectChannel, socketDeathChannel } from '../core/channels.js';
import type { Death } from './state.js';

/** The payload of `lifeline:socket:connect`; `error` is set when the socket died before it opened. */
export interface ConnectTrace {
  readonly socket: object;
  readonly endpoint: string;
  error?: unknown;
}

/** The payload of `lifeline:socket:death`. */
export interface DeathMessage {
  /** The LiveSocket. */
  readonly socket: object;
  readonly endpoint: string;
  readonly death: Death;
  /** How long it was open before it died, in ms (undefined when it never opened). */
  readonly openMs: number | undefined;
  /**
   * How long the fault went unnoticed, in ms, where lifeline's own timer measured it: the reply silence of a
   * read-timeout, the stalled write of a write-stall, the connect timeout of a connect-failed; 0 for a
   * peer-fin or a reset (the kernel reported it as it arrived); undefined otherwise.
   */
  readonly detectMs: number | undefined;
}

/** Starts a connect trace, or returns undefined when nobody subscribes. */
export function connectStarted(socket: object, endpoint: string): ConnectTrace | undefined {
  if (!socketConnectChannel.hasSubscribers) return undefined;
  const trace: ConnectTrace = { socket, endpoint };
  socketConnectChannel.start.publish(trace);
  socketConnectChannel.end.publish(trace);
  return trace;
}

/** Ends a connect trace: opened (no error) or died first. */
export function connectSettled(trace: ConnectTrace, error: unknown): void {
  if (error !== undefined) {
    trace.error = error;
    socketConnectChannel.error.publish(trace);
  }
  socketConnectChannel.asyncStart.publish(trace);
  socketConnectChannel.asyncEnd.publish(trace);
}

/** Publishes a death when someone subscribes. */
export function publishDeath(
  socket: object,
  endpoint: string,
  death: Death,
  openedAt: number | undefined,
  detectMs: number | undefined,
): void {
  if (!socketDeathChannel.hasSubscribers) return;
  const message: DeathMessage = {
    socket,
    endpoint,
    death,
    openMs: openedAt === undefined ? undefined : death.at - openedAt,
    detectMs,
  };
  socketDeathChannel.publish(message);
}
