// Hedging in lifeline-net/http, against a real node:http server that holds the first arrival of chosen
// request ids and answers every later one at once: the hedge wins, the held loser is aborted and its socket
// closed (and the agent keeps working); a POST is never hedged unless it carries an Idempotency-Key; the
// retry budget bounds hedges.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { type TestContext, test } from 'node:test';
import { request } from 'undici';
import { Agent } from '../../../src/adapters/http/index.js';
import { sleep } from '../../faults/helpers.js';

interface Held {
  response: http.ServerResponse;
  /** Resolves when the held request's socket closed (the client gave up on it). */
  closed: Promise<void>;
}

async function holdingServer(t: TestContext) {
  const seen = new Map<string, number>();
  const held = new Map<string, Held>();
  const arrived = new Map<string, () => void>();
  const server = http.createServer((req, res) => {
    const id = String(req.headers['x-request-id']);
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    req.resume();
    if (count === 1 && id.startsWith('hold-')) {
      const socket: net.Socket = req.socket;
      held.set(id, { response: res, closed: once(socket, 'close').then(() => undefined) });
      arrived.get(id)?.();
      return;
    }
    res.end('fast');
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** Resolves with the held first arrival of `id` once the server has it. */
    async held(id: string): Promise<Held> {
      const now = held.get(id);
      if (now !== undefined) return now;
      await new Promise<void>((resolve) => arrived.set(id, resolve));
      return held.get(id) as Held;
    },
  };
}

type Server = Awaited<ReturnType<typeof holdingServer>>;

async function send(server: Server, agent: Agent, method: 'GET' | 'POST', id: string, headers = {}) {
  const response = await request(`${server.url}/h`, {
    method,
    dispatcher: agent,
    headers: { 'x-request-id': id, ...headers },
    ...(method === 'POST' ? { body: id } : {}),
  });
  return response.body.text();
}

// How long the tests wait for a hedge that must not come: many times the hedge delay. A late hedge under load
// could only make a test pass wrongly, never fail wrongly.
const HEDGE_DELAY_MS = 20;
const NO_HEDGE_WAIT_MS = 400;

test('a slow GET is hedged: the hedge wins, the held attempt is aborted and its socket closed', async (t) => {
  const server = await holdingServer(t);
  const agent = new Agent({ connections: 2, lifeline: { hedge: { delayMs: HEDGE_DELAY_MS } } });
  t.after(() => agent.close());
  const answer = send(server, agent, 'GET', 'hold-g1');
  const loser = await server.held('hold-g1');
  assert.equal(await answer, 'fast', 'the hedge answered');
  assert.equal(server.seen.get('hold-g1'), 2, 'two attempts reached the server');
  await loser.closed; // the losing attempt's socket is destroyed, not left in the pool
  assert.equal(loser.response.writableEnded, false, 'the held response was never sent');
  // The agent still works, on a socket that is not the loser's.
  assert.equal(await send(server, agent, 'GET', 'after-g1'), 'fast');
  assert.equal(await send(server, agent, 'GET', 'after-g2'), 'fast');
});

test('a POST is never hedged; a POST with an Idempotency-Key is', async (t) => {
  const server = await holdingServer(t);
  const agent = new Agent({ connections: 2, lifeline: { hedge: { delayMs: HEDGE_DELAY_MS } } });
  t.after(() => agent.close());
  const plain = send(server, agent, 'POST', 'hold-p1');
  const first = await server.held('hold-p1');
  await sleep(NO_HEDGE_WAIT_MS);
  assert.equal(server.seen.get('hold-p1'), 1, 'no second attempt of a POST');
  first.response.end('slow');
  assert.equal(await plain, 'slow');
  assert.equal(server.seen.get('hold-p1'), 1);

  const keyed = send(server, agent, 'POST', 'hold-p2', { 'idempotency-key': 'k-p2' });
  const loser = await server.held('hold-p2');
  assert.equal(await keyed, 'fast', 'the hedge answered');
  assert.equal(server.seen.get('hold-p2'), 2);
  await loser.closed;
});

test('hedges draw from the retry budget: once it is spent, a slow request waits for its own answer', async (t) => {
  const server = await holdingServer(t);
  // One token in the window (0.1/s over 10 s) and none earned by successes.
  const agent = new Agent({
    connections: 2,
    lifeline: {
      hedge: { delayMs: HEDGE_DELAY_MS },
      budget: { percentCanRetry: 0, minRetriesPerSec: 0.1, ttlMs: 10_000 },
    },
  });
  t.after(() => agent.close());
  assert.equal(await send(server, agent, 'GET', 'hold-b1'), 'fast', 'the first slow request is hedged');
  assert.equal(server.seen.get('hold-b1'), 2);

  const second = send(server, agent, 'GET', 'hold-b2');
  const held = await server.held('hold-b2');
  await sleep(NO_HEDGE_WAIT_MS);
  assert.equal(server.seen.get('hold-b2'), 1, 'no hedge without a budget token');
  held.response.end('slow');
  assert.equal(await second, 'slow');
});
