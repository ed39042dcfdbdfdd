// Real loopback servers for the LiveSocket tests: every connection is a kernel socket, and "the peer closes"
// means the peer's kernel sends a FIN or an RST.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Death, LiveSocket, LiveState } from '../../src/socket/index.js';

export interface TestServer {
  readonly port: number;
  /** Accepted sockets in accept order. */
  readonly accepted: net.Socket[];
  /** Resolves with the next accepted socket (or the one already waiting). */
  nextConnection(): Promise<net.Socket>;
  close(): Promise<void>;
}

/** Reads and discards everything, and answers our FIN with its own, like most servers. */
export function drain(socket: net.Socket): void {
  socket.resume();
  socket.once('end', () => socket.end());
}

/** A loopback server with allowHalfOpen; `onConnection` decides what happens to each accepted socket. */
export async function startServer(
  onConnection: (socket: net.Socket) => void = drain,
  host = '127.0.0.1',
): Promise<TestServer> {
  const accepted: net.Socket[] = [];
  let taken = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
    server.emit('accepted');
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    accepted,
    async nextConnection() {
      while (accepted.length <= taken) await once(server, 'accepted');
      const socket = accepted[taken++];
      if (!socket) throw new Error('no accepted socket');
      return socket;
    },
    async close() {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with the death record, however long it takes; the test's own timeout bounds it. */
export function deathOf(live: LiveSocket): Promise<Death> {
  if (live.death) return Promise.resolve(live.death);
  return new Promise((resolve) => live.once('death', resolve));
}

/** Records every state the socket passes through, starting with the current one. */
export function recordStates(live: LiveSocket): LiveState[] {
  const states: LiveState[] = [live.state];
  live.on('state', (state) => states.push(state));
  return states;
}

/** Resolves once the socket reaches `state`. */
export function reach(live: LiveSocket, state: LiveState): Promise<void> {
  if (live.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const onState = (next: LiveState) => {
      if (next !== state) return;
      live.off('state', onState);
      resolve();
    };
    live.on('state', onState);
  });
}

/** A self-signed certificate for localhost and 127.0.0.1, made by the openssl CLI (its files removed at once). */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost']
        .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
        .concat(['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    return {
      key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
