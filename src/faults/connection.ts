// One proxied connection: the client's socket and the upstream one, joined by a link per direction.

import net from 'node:net';
import { preciseNow } from '../core/time.js';
import type { HostPort } from './address.js';
import { Link, type LinkOwner } from './link.js';
import type { Stream } from './toxic.js';

/**
 * An RST toward `socket`'s peer. While a FIN we asked for is still queued (end() called, its shutdown not yet
 * done), libuv refuses the reset (uv_tcp_close_reset: EINVAL) and Node then drops the handle without closing
 * it: a leaked socket that kept the process alive and polling at ~50 % CPU once the peer was gone (the reuse
 * race: the server's FIN forwarded and the client's request reset in one turn of the loop). Such a socket is
 * closed instead; its FIN is already on its way, as from a server that closed first.
 */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished) socket.destroy();
  else socket.resetAndDestroy();
}

/** FIN after what is already queued, then a full close, as a proxy closing its end does. */
function finSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/**
 * One proxied connection: the socket the client opened to us and the one we opened to the upstream, joined by
 * two links. Both run with allowHalfOpen, so a FIN travels through the toxics like data instead of closing
 * the connection behind their back. An RST on one side is passed on as an RST on the other.
 */
export class Connection implements LinkOwner {
  readonly openedAt = Date.now();
  readonly upstream: Link;
  readonly downstream: Link;
  idleBeforeMs = 0;
  private lastActivity = preciseNow();
  private readonly server: net.Socket;
  private open = 2;

  constructor(
    readonly id: number,
    readonly seed: number,
    private readonly client: net.Socket,
    upstreamAddress: HostPort,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    client.setNoDelay(true);
    this.server = net.connect({ ...upstreamAddress, allowHalfOpen: true, noDelay: true });
    const server = this.server;
    this.upstream = new Link('upstream', client, server, this);
    this.downstream = new Link('downstream', server, client, this);
    client.on('data', this.upstream.onData);
    client.on('end', this.upstream.onEnd);
    client.on('drain', this.downstream.onDrain);
    server.on('data', this.downstream.onData);
    server.on('end', this.downstream.onEnd);
    server.on('drain', this.upstream.onDrain);
    client.on('error', (error) => this.passOn(error, server));
    server.on('error', (error) => this.passOn(error, client));
    client.on('close', this.onSocketClose);
    server.on('close', this.onSocketClose);
  }

  link(stream: Stream): Link {
    return stream === 'upstream' ? this.upstream : this.downstream;
  }

  touch(): void {
    const now = preciseNow();
    this.idleBeforeMs = now - this.lastActivity;
    this.lastActivity = now;
  }

  reset(): void {
    this.upstream.finish();
    this.downstream.finish();
    resetSocket(this.client);
    resetSocket(this.server);
  }

  close(mode: 'fin' | 'reset' = 'fin'): void {
    if (mode === 'reset') {
      this.reset();
      return;
    }
    this.upstream.finish();
    this.downstream.finish();
    finSocket(this.client);
    finSocket(this.server);
  }

  /** Destroys both sockets at once (proxy stopping). */
  destroy(): void {
    this.client.destroy();
    this.server.destroy();
  }

  /** An error on one side ends the other: as an RST if the error was one, otherwise as a close. */
  private passOn(error: NodeJS.ErrnoException, other: net.Socket): void {
    this.upstream.finish();
    this.downstream.finish();
    if (error.code === 'ECONNRESET') resetSocket(other);
    else other.destroy();
  }

  private readonly onSocketClose = (): void => {
    if (--this.open > 0) return;
    this.upstream.dispose();
    this.downstream.dispose();
    this.onClosed(this);
  };
}
