// How a connection ends: the peer's FIN, the peer's RST, our own close, and a refused connect. Causes and
// the order of states are asserted, never timings.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import {
  ConnectFailedError,
  ConnectionResetError,
  type Death,
  LiveSocket,
  PeerClosedError,
  SocketClosedError,
} from '../../src/socket/index.js';
import { deathOf, reach, recordStates, startServer } from './support.js';

const T = { timeout: 15_000 };

test('a FIN on a dialed socket is peer-fin, with the state peer-closed until we close', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  const states = recordStates(live);
  await live.ready();
  assert.equal(live.usable, true);
  (await server.nextConnection()).end();
  const death = await deathOf(live);
  assert.equal(death.cause, 'peer-fin');
  assert.ok(death.error instanceof PeerClosedError);
  assert.equal(death.error.code, 'LIFELINE_PEER_CLOSED');
  assert.equal(live.state, 'peer-closed');
  assert.equal(live.usable, false);
  await live.close();
  assert.deepEqual(states, ['connecting', 'open', 'peer-closed', 'closing', 'closed']);
  assert.equal(live.death?.cause, 'peer-fin', 'the first cause stays');
  await server.close();
});

test('a FIN is seen even when nobody reads the socket (paused stream)', T, async () => {
  const server = await startServer((socket) => socket.end('bye'));
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  // No 'data' listener and no read(): the stream stays paused, so 'end' would never fire.
  const death = await deathOf(live);
  assert.equal(death.cause, 'peer-fin');
  assert.equal(live.socket.readableFlowing, null, 'LiveSocket did not switch the stream to flowing');
  assert.equal(live.socket.read()?.toString(), 'bye', 'the data is still there for its reader');
  await live.close();
  await server.close();
});

test('an RST (server resetAndDestroy) is reset', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  const states = recordStates(live);
  await live.ready();
  (await server.nextConnection()).resetAndDestroy();
  const death = await deathOf(live);
  assert.equal(death.cause, 'reset');
  assert.ok(death.error instanceof ConnectionResetError);
  assert.equal(death.error.code, 'LIFELINE_CONNECTION_RESET');
  assert.equal((death.error.cause as NodeJS.ErrnoException).code, 'ECONNRESET');
  await reach(live, 'closed');
  assert.deepEqual(states, ['connecting', 'open', 'closed']);
  await server.close();
});

test('a server-accepted socket, wrapped, sees the client FIN as peer-fin', T, async () => {
  const server = await startServer(() => {});
  const client = net.connect({ host: '127.0.0.1', port: server.port });
  await once(client, 'connect');
  const live = LiveSocket.wrap(await server.nextConnection());
  assert.equal(live.state, 'open');
  assert.equal(LiveSocket.of(live.socket), live);
  client.end();
  const death = await deathOf(live);
  assert.equal(death.cause, 'peer-fin');
  assert.equal(live.state, 'peer-closed');
  // Half-open: the server side may still answer before closing.
  live.socket.end('late reply');
  const [reply] = await once(client, 'data');
  assert.equal(String(reply), 'late reply');
  await reach(live, 'closed');
  client.destroy();
  await server.close();
});

test('our own close is local-close and ends in closed', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  const states = recordStates(live);
  await live.ready();
  await live.close();
  assert.equal(live.death?.cause, 'local-close');
  assert.ok(live.death?.error instanceof SocketClosedError);
  assert.deepEqual(states, ['connecting', 'open', 'closing', 'closed']);
  await server.close();
});

test('a refused connection is connect-failed and ready() rejects with ConnectFailedError', T, async () => {
  const server = await startServer();
  const { port } = server;
  await server.close();
  const live = LiveSocket.connect({ host: '127.0.0.1', port });
  await assert.rejects(live.ready(), (error: unknown) => {
    assert.ok(error instanceof ConnectFailedError);
    assert.equal(error.code, 'LIFELINE_CONNECT_FAILED');
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return true;
  });
  assert.equal(live.death?.cause, 'connect-failed');
  assert.equal(live.state, 'closed');
  assert.equal(live.capabilities().keepalive, 'off');
});

test('destroy(error, cause) records the given cause, e.g. a heartbeat monitor', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  await live.ready();
  live.destroy(new Error('no heartbeat for 3 s'), 'heartbeat');
  assert.equal(live.death?.cause, 'heartbeat');
  assert.equal(live.state, 'closed');
  assert.match(String(live.death?.error?.message), /no heartbeat/);
  await server.close();
});

test(
  'an error passed to destroy() appears in the death message redacted, before and after open',
  T,
  async () => {
    const server = await startServer();
    const secret = () => new Error('driver gave up on postgres://app:s3cret@db.internal:5432/app');
    try {
      const open = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
      await open.ready();
      open.destroy(secret());
      const connecting = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
      connecting.destroy(secret());
      assert.equal(connecting.death?.cause, 'connect-failed');
      for (const live of [open, connecting]) {
        const error = live.death?.error;
        assert.ok(error !== undefined);
        assert.doesNotMatch(error.message, /s3cret/);
        assert.match(error.message, /postgres:\/\/app:\*\*\*@db\.internal:5432\/app/);
        assert.match(String((error.cause as Error).message), /s3cret/, 'the cause is untouched');
      }
    } finally {
      await server.close();
    }
  },
);

type Ending = 'local close' | 'peer FIN' | 'reset' | 'driver destroy';

for (const ending of ['local close', 'peer FIN', 'reset', 'driver destroy'] as Ending[]) {
  test(`onClose hooks run exactly once on ${ending}, also when registered late`, T, async () => {
    const server = await startServer();
    const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
    await live.ready();
    const peer = await server.nextConnection();
    const calls: string[] = [];
    live.onClose((death) => calls.push(`early:${death.cause}`));
    const unsubscribe = live.onClose(() => calls.push('unsubscribed'));
    unsubscribe();
    const died = deathOf(live);
    if (ending === 'local close') await live.close();
    else if (ending === 'peer FIN') peer.end();
    else if (ending === 'reset') peer.resetAndDestroy();
    else live.socket.destroy();
    const death: Death = await died;
    // After death: a late hook runs once, asynchronously, with the same record.
    let late: Death | undefined;
    live.onClose((d) => {
      late = d;
      calls.push(`late:${d.cause}`);
    });
    assert.equal(late, undefined, 'a late hook runs asynchronously');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(late, death);
    // More events on the way to closed must not run anything again.
    live.destroy();
    await live.close();
    await new Promise((resolve) => setImmediate(resolve));
    const expected = {
      'local close': 'local-close',
      'peer FIN': 'peer-fin',
      reset: 'reset',
      'driver destroy': 'local-close',
    };
    assert.deepEqual(calls, [`early:${expected[ending]}`, `late:${expected[ending]}`]);
    await server.close();
  });
}
