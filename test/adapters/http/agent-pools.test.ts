// lifeline's Agent sends requests straight to the origin's undici Pool/Client (agent.ts), past undici's Agent
// layer. What undici's Agent does with its pools must still hold: a pool it drops when all its connections
// ended is replaced by a new one, a closed Agent refuses requests, a custom factory's dispatcher is used,
// and `connections: 1` gives a Client.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { type TestContext, test } from 'node:test';
import { Client, type Dispatcher, Pool, Agent as UndiciAgent } from 'undici';
import { Agent } from '../../../src/adapters/http/index.js';

async function server(t: TestContext) {
  const sockets = new Set<net.Socket>();
  let served = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    served++;
    res.end('ok');
  });
  srv.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(async () => {
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  return {
    origin: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    sockets,
    served: () => served,
  };
}

async function get(agent: Dispatcher, origin: string): Promise<string> {
  const response = await agent.request({ origin, path: '/', method: 'GET' });
  return response.body.text();
}

test('a pool undici’s Agent dropped (every connection ended) is replaced; requests keep going', async (t) => {
  const s = await server(t);
  const made: Dispatcher[] = [];
  const agent = new Agent({
    connections: 2,
    factory: (origin, options) => {
      const pool = new Pool(origin, options);
      made.push(pool);
      return pool;
    },
  });
  t.after(() => agent.close());
  assert.equal(await get(agent, s.origin), 'ok');
  assert.equal(made.length, 1);
  // The server ends every connection: undici's Agent sees the last one go and closes the origin's pool.
  const gone = once(agent, 'disconnect');
  for (const socket of s.sockets) socket.destroy();
  await gone;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal((made[0] as Pool).closed, true);
  for (let i = 0; i < 5; i++) assert.equal(await get(agent, s.origin), 'ok');
  assert.equal(made.length, 2, 'a new pool for the origin');
  assert.equal(s.served(), 6);
});

test('a closed Agent refuses requests as undici’s own Agent does, whether the origin had a pool or not', async (t) => {
  const s = await server(t);
  const codes = async (agent: Dispatcher) => {
    assert.equal(await get(agent, s.origin), 'ok');
    await agent.close();
    const seen: unknown[] = [];
    for (const origin of [s.origin, 'http://127.0.0.1:9']) {
      await get(agent, origin).then(
        () => assert.fail('a closed Agent sent a request'),
        (error: { code?: unknown }) => seen.push(error.code),
      );
    }
    return seen;
  };
  const ours = await codes(new Agent({ connections: 2 }));
  assert.deepEqual(ours, await codes(new UndiciAgent({ connections: 2 })));
  assert.match(String(ours[0]), /^UND_ERR_(CLOSED|DESTROYED)$/);
});

test('connections: 1 gives each origin a Client; a custom factory’s own dispatcher is used', async (t) => {
  const s = await server(t);
  const made: Dispatcher[] = [];
  const one = new Agent({
    connections: 1,
    factory: (origin, options) => {
      const client = new Client(origin, options);
      made.push(client);
      return client;
    },
  });
  t.after(() => one.close());
  for (let i = 0; i < 3; i++) assert.equal(await get(one, s.origin), 'ok');
  assert.equal(made.length, 1);
  assert.ok(made[0] instanceof Client);
  // A factory returning a dispatcher that is neither Pool nor Client is reached through undici's Agent.
  let dispatched = 0;
  const wrapped = new Agent({
    factory: (origin, options) => {
      const pool = new Pool(origin, options);
      return pool.compose((dispatch) => (opts, handler) => {
        dispatched++;
        return dispatch(opts, handler);
      });
    },
  });
  t.after(() => wrapped.close());
  for (let i = 0; i < 3; i++) assert.equal(await get(wrapped, s.origin), 'ok');
  assert.equal(dispatched, 3);
});
