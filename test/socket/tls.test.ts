// TLS, both directions: a dialed TLS socket and a server-accepted one, with a self-signed certificate made
// at test time by the openssl CLI.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { before, test } from 'node:test';
import tls from 'node:tls';
import { ConnectFailedError, LiveSocket } from '../../src/socket/index.js';
import { deathOf, reach, selfSignedCertificate } from './support.js';

const T = { timeout: 20_000 };
let key = '';
let cert = '';

before(() => {
  ({ key, cert } = selfSignedCertificate());
});

async function tlsServer(
  onSecure: (socket: tls.TLSSocket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer({ key, cert, allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onSecure(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      // Not awaiting the close callback: after a failed handshake Node may never call it, though
      // nothing is left open.
      server.close();
    },
  };
}

test('a dialed TLS socket opens after the handshake and sees the server FIN as peer-fin', T, async () => {
  const server = await tlsServer((socket) => {
    socket.resume();
    socket.end('bye');
  });
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port, tls: { ca: cert } });
  await live.ready();
  assert.ok(live.socket instanceof tls.TLSSocket);
  assert.equal((live.socket as tls.TLSSocket).authorized, true);
  const death = await deathOf(live);
  assert.equal(death.cause, 'peer-fin');
  assert.equal(live.capabilities().keepalive === 'off', false, 'keepalive applies under TLS too');
  await live.close();
  await server.close();
});

test('a server-accepted TLS socket, wrapped, sees the client FIN as peer-fin', T, async () => {
  let wrapped: LiveSocket | undefined;
  const server = await tlsServer((socket) => {
    wrapped = LiveSocket.wrap(socket);
  });
  const client = tls.connect({
    host: '127.0.0.1',
    port: server.port,
    ca: cert,
    allowHalfOpen: true,
  } as tls.ConnectionOptions);
  await once(client, 'secureConnect');
  while (wrapped === undefined) await new Promise((resolve) => setImmediate(resolve));
  const live = wrapped;
  assert.equal(live.state, 'open');
  client.end();
  const death = await deathOf(live);
  assert.equal(death.cause, 'peer-fin');
  live.socket.end();
  await reach(live, 'closed');
  client.destroy();
  await server.close();
});

test('a TLS handshake that fails (untrusted certificate) is connect-failed', T, async () => {
  const server = await tlsServer(() => {});
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port, tls: {} });
  await assert.rejects(live.ready(), ConnectFailedError);
  assert.equal(live.death?.cause, 'connect-failed');
  await server.close();
});
