// A watched WebSocket: one state, alive by every check (socket, pings), never just "not closed yet".

import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { brand } from '../../core/brand.js';
import type { LifelineError } from '../../core/errors.js';
import { type DeathCause, LiveSocket } from '../../socket/index.js';
import { HeartbeatTimeoutError } from './errors.js';
import { type ResolvedWatch, resolveWatch, type WatchOptions } from './options.js';

/** A watched WebSocket's one state. 'open' means alive by every check, never just "not closed yet". */
export type WsState = 'connecting' | 'open' | 'closing' | 'closed';

/** Why the connection ended, recorded once: the first of a close frame, a socket death, or the heartbeat. */
export interface CloseReason {
  /** 'close-frame' when the peer (or we) closed cleanly; else LiveSocket's cause ('heartbeat', 'reset', …). */
  cause: 'close-frame' | DeathCause;
  /** The close frame's code and reason, when one was exchanged. */
  code?: number;
  reason?: string;
  at: number;
  error?: LifelineError;
}

export interface WatchedWebSocketEvents {
  dead: [reason: CloseReason];
}

function socketOf(ws: WebSocket): net.Socket | undefined {
  const socket: unknown = Reflect.get(ws, '_socket');
  return socket !== null && typeof socket === 'object' ? (socket as net.Socket) : undefined;
}

/**
 * A `ws` WebSocket (client or server-accepted) watched by LiveSocket and a ping/pong heartbeat. Any frame
 * from the peer counts as proof of life, so idle periods and push-only streams are fine; a ping unanswered
 * for `timeoutMs` ends the connection with cause 'heartbeat'. `state` and `closeReason` are the truth.
 */
export class WatchedWebSocket extends EventEmitter<WatchedWebSocketEvents> {
  readonly ws: WebSocket;
  #live: LiveSocket | undefined;
  #reason: CloseReason | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #lastHeardAt = Date.now();
  readonly #options: ResolvedWatch;

  constructor(ws: WebSocket, options?: WatchOptions) {
    super();
    this.#options = resolveWatch(options, 'watch');
    this.ws = ws;
    if (ws.readyState === WebSocket.CONNECTING) ws.once('open', () => this.#attach());
    else this.#attach();
    ws.once('close', (code: number, reason: Buffer) => {
      const death = this.#live?.death;
      if (code === 1006 && death !== undefined) {
        this.#end({ cause: death.cause, at: death.at, ...(death.error ? { error: death.error } : {}) });
      } else {
        this.#end({ cause: 'close-frame', code, reason: reason.toString(), at: Date.now() });
      }
    });
    // A socket error is reported through closeReason; without a listener `ws` would throw it.
    ws.on('error', () => {});
  }

  get live(): LiveSocket | undefined {
    return this.#live;
  }

  get state(): WsState {
    if (this.#reason !== undefined) return 'closed';
    const live = this.#live;
    if (live !== undefined && !live.usable) return live.state === 'closing' ? 'closing' : 'closed';
    switch (this.ws.readyState) {
      case WebSocket.CONNECTING:
        return 'connecting';
      case WebSocket.OPEN:
        return live === undefined ? 'connecting' : 'open';
      case WebSocket.CLOSING:
        return 'closing';
      default:
        return 'closed';
    }
  }

  get closeReason(): CloseReason | undefined {
    return this.#reason;
  }

  /** When a frame last arrived from the peer (Date.now()). */
  get lastHeardAt(): number {
    return this.#lastHeardAt;
  }

  /** `host:port` of the peer. */
  get endpoint(): string {
    return this.#live?.endpoint ?? 'unknown peer';
  }

  /** Stops the heartbeat and closes with a close frame. */
  close(code?: number, reason?: string): void {
    this.#stop();
    this.ws.close(code, reason);
  }

  #attach(): void {
    const socket = socketOf(this.ws);
    if (socket === undefined || this.#reason !== undefined) return;
    this.#live = LiveSocket.of(socket) ?? LiveSocket.wrap(socket, this.#options.socket);
    this.#live.onClose((death) => {
      // A socket closing after the close handshake began is reported by ws' 'close', with its code.
      if (this.ws.readyState !== WebSocket.OPEN) return;
      // The socket died under ws (reset, keepalive, heartbeat…): this is the one close reason.
      this.#end({ cause: death.cause, at: death.at, ...(death.error ? { error: death.error } : {}) });
      this.ws.terminate();
    });
    const heard = () => this.#heard();
    this.ws.on('pong', heard);
    this.ws.on('ping', heard);
    this.ws.on('message', heard);
    const beat = this.#options.heartbeat;
    if (beat !== undefined) {
      this.#pingTimer = setInterval(() => this.#ping(beat.timeoutMs), beat.intervalMs).unref();
    }
  }

  #heard(): void {
    this.#lastHeardAt = Date.now();
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #ping(timeoutMs: number): void {
    if (this.#deadline !== undefined || this.ws.readyState !== WebSocket.OPEN) return;
    this.#deadline = setTimeout(() => {
      const live = this.#live;
      if (live === undefined) return;
      live.destroy(new HeartbeatTimeoutError(live.endpoint, timeoutMs), 'heartbeat');
    }, timeoutMs).unref();
    this.ws.ping();
  }

  #stop(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#deadline);
    this.#pingTimer = this.#deadline = undefined;
  }

  #end(reason: CloseReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#stop();
    this.emit('dead', reason);
  }
}
brand(WatchedWebSocket, 'ws.WatchedWebSocket');

/** Watches a `ws` WebSocket, client or server-accepted. */
export function watch(ws: WebSocket, options?: WatchOptions): WatchedWebSocket {
  return new WatchedWebSocket(ws, options);
}
