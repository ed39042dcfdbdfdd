import type net from 'node:net';
import { type Death, LiveSocket } from '../../socket/index.js';
import type { ConnectionEnd, ResolvedRedisLifelineOptions } from './options.js';

/**
 * lifeline's view of one driver connection: a LiveSocket on the driver's socket and whether a reply is
 * awaited. The LiveSocket runs with idleData 'reject': bytes arriving while nothing is awaited mean the
 * server is saying something unasked (an error before it closes, a reply to nobody) and the connection is
 * retired. A subscriber connection, a tracking connection (RESP3 invalidation pushes) or a MONITOR connection
 * receives data unasked by design: it is "pinned" — a reply is awaited for its whole life, with no deadline.
 */
export class WatchedConnection {
  readonly live: LiveSocket;
  readonly openedAt = Date.now();
  /** The server's id for this connection (CLIENT ID), once known: what the lost-reply verifier asks about. */
  clientId: string | undefined;
  /** The server refused CLIENT ID (an ACL without it): replies on this connection are not verified. */
  clientIdRefused = false;
  #awaiting = false;
  #pinned = false;

  constructor(
    socket: net.Socket,
    options: ResolvedRedisLifelineOptions,
    pinned: boolean,
    onEnd: (end: ConnectionEnd) => void,
  ) {
    this.live = LiveSocket.wrap(socket, { ...options.socket, idleData: 'reject', readTimeoutMs: 0 });
    if (pinned) this.pin();
    this.live.onClose((death: Death) => {
      const end: ConnectionEnd = {
        endpoint: this.live.endpoint,
        cause: death.cause,
        error: death.error ?? new Error(death.cause),
        openForMs: Date.now() - this.openedAt,
      };
      onEnd(end);
      options.onConnectionEnd?.(end);
    });
  }

  get pinned(): boolean {
    return this.#pinned;
  }

  /** Unasked data is normal from now on (subscriber, RESP3 push, tracking, MONITOR). */
  pin(): void {
    this.#pinned = true;
    if (!this.#awaiting) this.#expect();
  }

  /**
   * Every write on the socket awaits a reply from now on: for a driver that writes commands lifeline does
   * not see (node-redis's handshake, resubscription, CLIENT ID).
   */
  countWrites(socket: net.Socket): void {
    const write = socket.write;
    const sent = () => this.sent();
    socket.write = function (this: net.Socket, ...args: unknown[]): boolean {
      sent();
      return Reflect.apply(write, this, args) as boolean;
    } as typeof socket.write;
  }

  /** A command was written: its reply is awaited. */
  sent(): void {
    if (!this.#awaiting) this.#expect();
  }

  /** Every written command has its reply. */
  drained(): void {
    if (!this.#awaiting || this.#pinned) return;
    this.#awaiting = false;
    this.live.replyReceived();
  }

  #expect(): void {
    this.#awaiting = true;
    // readTimeoutMs is 0 (lifeline sets it): no deadline. Lost replies are the verifier's business, not a timer's (a BLPOP may wait for hours).
    this.live.expectReply();
  }
}
