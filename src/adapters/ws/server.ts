// LiveConnections: a WebSocketServer's connections, each watched, listed with its state.
import type { WebSocket, WebSocketServer } from 'ws';
import { brand } from '../../core/brand.js';
import { resolveWatch, type WatchOptions } from './options.js';
import { WatchedWebSocket, type WsState } from './watch.js';

/** One connection as a server lists it. */
export interface ConnectionInfo {
  id: number;
  endpoint: string;
  state: WsState;
  openedAt: number;
  lastHeardAt: number;
}

/** Watches every connection `server` accepts from now on. */
export function watchServer(server: WebSocketServer, options?: WatchOptions): LiveConnections {
  return new LiveConnections(server, options);
}

/**
 * Every connection a `ws` server accepts, watched. `list()` holds only connections not known to be dead: a
 * connection leaves the moment its death is seen (close frame, FIN/RST, heartbeat), and `state` is read
 * from the watch at the time of the call, never cached.
 */
export class LiveConnections {
  readonly #connections = new Map<WebSocket, { id: number; watched: WatchedWebSocket; openedAt: number }>();
  #nextId = 1;
  readonly #onConnection: (ws: WebSocket) => void;

  constructor(
    readonly server: WebSocketServer,
    options?: WatchOptions,
  ) {
    this.#onConnection = (ws) => {
      const watched = new WatchedWebSocket(ws, options);
      const entry = { id: this.#nextId++, watched, openedAt: Date.now() };
      this.#connections.set(ws, entry);
      watched.once('dead', () => this.#connections.delete(ws));
    };
    // Options are checked now, not at the first connection.
    resolveWatch(options, 'LiveConnections');
    server.on('connection', this.#onConnection);
  }

  /** The watch of a connection the server accepted. */
  of(ws: WebSocket): WatchedWebSocket | undefined {
    return this.#connections.get(ws)?.watched;
  }

  list(): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const { id, watched, openedAt } of this.#connections.values()) {
      const state = watched.state;
      if (state === 'closed') continue;
      out.push({ id, endpoint: watched.endpoint, state, openedAt, lastHeardAt: watched.lastHeardAt });
    }
    return out;
  }

  /** Stops watching new connections (those already watched stay watched). */
  stop(): void {
    this.server.off('connection', this.#onConnection);
  }
}
brand(LiveConnections, 'ws.LiveConnections');
