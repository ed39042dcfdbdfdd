// A TLS upgrade after a plaintext exchange (STARTTLS, Postgres' SSLRequest): the client wraps the TCP socket,
// asks for TLS with one byte, and on the server's answer layers tls.connect({ socket }) over it. upgradedTo
// moves every observation onto the TLS socket and leaves nothing of LiveSocket's on the TCP one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { before, test } from 'node:test';
import tls from 'node:tls';
import { InvalidOptionError } from '../../src/core/options.js';
import {
  LiveSocket,
  type LiveSocketOptions,
  type LiveState,
  UnexpectedDataError,
  UpgradeRefusedError,
  WriteStallError,
} from '../../src/socket/index.js';
import { deathOf, selfSignedCertificate, startServer, type TestServer } from './support.js';

const T = { timeout: 20_000 };
let key = '';
let cert = '';

before(() => {
  ({ key, cert } = selfSignedCertificate());
});

/**
 * A server that reads one byte (the upgrade request), answers 'S', then speaks TLS over the same socket;
 * `onSecure` gets the TLS socket once the handshake is done, and the TCP socket under it.
 */
function upgradingServer(onSecure: (secure: tls.TLSSocket, socket: net.Socket) => void): Promise<TestServer> {
  return startServer((socket) => {
    socket.once('data', () => {
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
      secure.on('error', () => {});
      secure.once('secure', () => onSecure(secure, socket));
    });
  });
}

/** Every listener on `socket`, by event. */
function listenersOf(socket: net.Socket): Map<string | symbol, unknown[]> {
  return new Map(socket.eventNames().map((name) => [name, socket.listeners(name)]));
}

interface Upgraded {
  live: LiveSocket;
  raw: net.Socket;
  secure: tls.TLSSocket;
  /** The listeners LiveSocket had added to the TCP socket before the upgrade. */
  ours: unknown[];
}

/** Wraps a TCP socket to the server, asks for the upgrade, follows it, and waits for the handshake. */
async function upgrade(port: number, options: LiveSocketOptions = {}): Promise<Upgraded> {
  const raw = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(raw, 'connect');
  const before = listenersOf(raw);
  const live = LiveSocket.wrap(raw, options);
  const ours = [...listenersOf(raw)].flatMap(([name, fns]) =>
    fns.filter((fn) => !before.get(name)?.includes(fn)),
  );
  live.expectReply();
  raw.write('U');
  const [answer] = await once(raw, 'data');
  live.replyReceived();
  assert.equal(String(answer), 'S');
  const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
  live.upgradedTo(secure);
  await once(secure, 'secureConnect');
  return { live, raw, secure, ours };
}

function assertNothingLeftOn(raw: net.Socket, ours: unknown[]): void {
  assert.ok(ours.length > 0, 'LiveSocket listened on the TCP socket before the upgrade');
  for (const [name, fns] of listenersOf(raw)) {
    for (const fn of ours) assert.ok(!fns.includes(fn), `a LiveSocket '${String(name)}' listener stayed`);
  }
  assert.equal(Object.hasOwn(raw, 'push'), false, 'push is the socket’s own again');
  assert.equal(Object.hasOwn(raw, 'destroy'), false, 'destroy is the socket’s own again');
}

test(
  'after upgradedTo, a server FIN over TLS is peer-fin, onClose runs once, the TCP socket is left bare',
  T,
  async () => {
    let finish: (() => void) | undefined;
    const server = await upgradingServer((secure) => {
      secure.resume();
      finish = () => secure.end();
    });
    const { live, raw, secure, ours } = await upgrade(server.port);
    const closes: string[] = [];
    live.onClose((death) => closes.push(death.cause));
    const capabilities = live.capabilities();

    assert.equal(live.socket, secure);
    assert.equal(LiveSocket.of(secure), live);
    assert.equal(LiveSocket.of(raw), live, 'the TCP socket stays this connection’s');
    assert.equal(live.state, 'open');
    assert.deepEqual(
      live.capabilities(),
      capabilities,
      'keepalive and user timeout live on the shared descriptor',
    );
    assertNothingLeftOn(raw, ours);

    while (finish === undefined) await new Promise((resolve) => setImmediate(resolve));
    finish();
    const death = await deathOf(live);
    assert.equal(death.cause, 'peer-fin');
    assert.equal(live.state, 'peer-closed');
    await live.close();
    assert.equal(live.state, 'closed');
    assert.ok(raw.destroyed, 'closing the TLS socket closed the TCP one');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(closes, ['peer-fin']);
    await server.close();
  },
);

test('after upgradedTo, a server reset is reset', T, async () => {
  const server = await upgradingServer((secure, socket) => {
    secure.resume();
    socket.resetAndDestroy();
  });
  const { live, raw, ours } = await upgrade(server.port);
  const closes: string[] = [];
  live.onClose((death) => closes.push(death.cause));
  const death = await deathOf(live);
  assert.equal(death.cause, 'reset');
  assert.equal(death.error?.code, 'LIFELINE_CONNECTION_RESET');
  assert.equal(live.state, 'closed');
  assertNothingLeftOn(raw, ours);
  assert.deepEqual(closes, ['reset']);
  await server.close();
});

test(
  'after upgradedTo, a server that stops reading makes a large TLS write die of write-stall',
  T,
  async () => {
    const server = await upgradingServer((secure) => secure.pause());
    const { live, secure } = await upgrade(server.port, { writeStallMs: 500, userTimeoutMs: 0 });
    secure.write(Buffer.alloc(64 * 1024 * 1024));
    const death = await deathOf(live);
    assert.equal(death.cause, 'write-stall');
    assert.ok(death.error instanceof WriteStallError);
    assert.ok(death.error.queuedBytes > 0);
    assert.ok(secure.destroyed);
    await server.close();
  },
);

test('after upgradedTo, bytes nobody asked for over TLS are idle-data', T, async () => {
  let push: (() => void) | undefined;
  const server = await upgradingServer((secure) => {
    secure.resume();
    push = () => secure.write('notice');
  });
  const { live, secure } = await upgrade(server.port, { idleData: 'reject' });
  secure.on('error', () => {});
  while (push === undefined) await new Promise((resolve) => setImmediate(resolve));
  push();
  const death = await deathOf(live);
  assert.equal(death.cause, 'idle-data');
  assert.ok(death.error instanceof UnexpectedDataError);
  await server.close();
});

test(
  'upgradedTo refuses a socket that is not a TLS socket over this one, or already watched',
  T,
  async () => {
    const server = await startServer();
    const raw = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
    const other = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
    await Promise.all([once(raw, 'connect'), once(other, 'connect')]);
    const live = LiveSocket.wrap(raw);
    const overOther = new tls.TLSSocket(other);
    const watched = new tls.TLSSocket(raw);
    LiveSocket.wrap(watched);

    for (const [socket, message] of [
      [other, /must be a tls\.TLSSocket over this LiveSocket's socket/],
      [overOther, /must be a tls\.TLSSocket over this LiveSocket's socket/],
      [watched, /is already watched by a LiveSocket/],
    ] as const) {
      assert.throws(
        () => live.upgradedTo(socket as tls.TLSSocket),
        (error: unknown) =>
          error instanceof InvalidOptionError &&
          error.code === 'LIFELINE_INVALID_OPTION' &&
          message.test(error.message),
      );
    }
    assert.equal(live.socket, raw, 'a refused upgrade changes nothing');
    assert.equal(live.state, 'open');
    for (const socket of [overOther, watched, raw, other]) socket.destroy();
    await server.close();
  },
);

/** upgradedTo(secure) throws UpgradeRefusedError naming `state` and the death, saying `why`, and changes nothing. */
function assertRefused(live: LiveSocket, secure: tls.TLSSocket, state: LiveState, why: RegExp): void {
  const socket = live.socket;
  assert.throws(
    () => live.upgradedTo(secure),
    (error: unknown) =>
      error instanceof UpgradeRefusedError &&
      error.code === 'LIFELINE_UPGRADE_REFUSED' &&
      error.state === state &&
      error.death === live.death &&
      why.test(error.message),
  );
  assert.equal(live.socket, socket);
}

test('upgradedTo refuses a connection already dead, and says so', T, async () => {
  const server = await startServer((socket) => socket.end());
  const raw = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
  await once(raw, 'connect');
  const live = LiveSocket.wrap(raw);
  await deathOf(live);
  const secure = new tls.TLSSocket(raw);
  secure.on('error', () => {});
  assertRefused(live, secure, 'peer-closed', /already dead \(peer-fin\)/);
  secure.destroy();
  await server.close();
});

test('upgradedTo refuses a connection still connecting', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  const secure = new tls.TLSSocket(live.socket);
  secure.on('error', () => {});
  assertRefused(live, secure, 'connecting', /still connecting/);
  secure.destroy();
  live.destroy();
  await server.close();
});
