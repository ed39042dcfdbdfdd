// undici's `connect` option made lifeline's: every socket it opens watched, each request tied to its socket.
import type net from 'node:net';
import { buildConnector } from 'undici';
import { SocketWatch } from './idle.js';
import type { HttpPolicy } from './options.js';
import { takeWriting } from './request.js';

type Connector = buildConnector.connector;
export type ConnectOption = buildConnector.BuildOptions | Connector | undefined;

/**
 * undici's `connect` option made lifeline's: every socket it opens (or that a given connector opens) is
 * watched by a LiveSocket through SocketWatch, and each request written on it is tied to it, so the socket's
 * idle time is known and a server's close while it is idle is seen and learned from.
 */
export function lifelineConnector(connect: ConnectOption, policy: HttpPolicy): Connector {
  const open: Connector = typeof connect === 'function' ? connect : buildConnector(connect ?? {});
  return (options, callback) => {
    open(options, (error, socket) => {
      if (error !== null) {
        callback(error, null);
        return;
      }
      const origin = `${options.protocol}//${options.hostname}${options.port ? `:${options.port}` : ''}`;
      const watch = SocketWatch.watch(socket, policy.origin(origin).idle, policy.socket);
      hookWrites(socket, watch);
      callback(null, socket);
    });
  };
}

type Write = (this: net.Socket, chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;

function hookWrites(socket: net.Socket, watch: SocketWatch): void {
  const write = socket.write as Write;
  // undici writes a request right after onRequestStart, in the same synchronous run (see request.ts). A fixed
  // arity, not rest arguments: this runs for every write, and Writable.write treats a missing argument and an
  // undefined one alike.
  socket.write = function (this: net.Socket, chunk: unknown, encoding?: unknown, callback?: unknown) {
    const writer = takeWriting();
    if (writer !== undefined) writer.bind(watch);
    return write.call(this, chunk, encoding, callback);
  } as net.Socket['write'];
}
