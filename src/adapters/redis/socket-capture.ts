import diagnosticsChannel from 'node:diagnostics_channel';
import type net from 'node:net';
import { LiveSocket } from '../../socket/index.js';

/**
 * node-redis creates its sockets itself and exposes none of them. Node publishes every socket made by
 * net.connect() on the 'net.client.socket' diagnostics channel; lifeline notes the one that connected last.
 * node-redis emits its 'connect' event in the same turn as the socket's own 'connect' (only microtasks in
 * between), before any other socket's I/O can run, so at that event the last connected socket is the
 * client's. TLS sockets (tls.connect) are not published: a node-redis client over TLS runs without a
 * LiveSocket (docs/redis.md).
 */
let listening = false;
let lastConnected: net.Socket | undefined;

function onClientSocket(message: unknown): void {
  const socket: unknown =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'socket') : undefined;
  if (typeof socket !== 'object' || socket === null || !('once' in socket)) return;
  const client = socket as net.Socket;
  client.once('connect', () => {
    lastConnected = client;
  });
}

/** Starts noting connected client sockets (once per process; costs one 'connect' listener per socket). */
export function watchClientSockets(): void {
  if (listening) return;
  listening = true;
  diagnosticsChannel.subscribe('net.client.socket', onClientSocket);
}

/** The socket whose 'connect' fired in this turn, once: undefined if none or already watched. */
export function takeConnectedSocket(): net.Socket | undefined {
  const socket = lastConnected;
  lastConnected = undefined;
  if (socket === undefined || socket.destroyed || LiveSocket.of(socket) !== undefined) return undefined;
  return socket;
}
