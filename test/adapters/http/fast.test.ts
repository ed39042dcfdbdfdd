// The fast path (src/adapters/http/fast.ts): a request's first attempt without execute(). What execute()
// would decide it decides the same way: a caller's abort ends the attempt and its socket; a GET reset after
// it was written is retried only while attempts are left; a slow-path request (a tracing subscriber on
// lifeline:exec:attempt) and a fast-path one give the same answers.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { type TestContext, test } from 'node:test';
import { request } from 'undici';
import { Agent } from '../../../src/adapters/http/index.js';
import { startOrigin } from './support.js';

/** A node:http server that never answers `/hold` (until the socket closes) and answers anything else. */
async function holdServer(t: TestContext) {
  const held: net.Socket[] = [];
  let arrived: () => void = () => {};
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/hold') {
      held.push(req.socket);
      arrived();
      return;
    }
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    held,
    nextHeld: () =>
      new Promise<void>((resolve) => {
        arrived = resolve;
      }),
  };
}

test('a caller’s abort ends a request in flight and closes its socket; the agent keeps working', async (t) => {
  const server = await holdServer(t);
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  const controller = new AbortController();
  const arrived = server.nextHeld();
  const pending = request(`${server.url}/hold`, { dispatcher: agent, signal: controller.signal });
  await arrived;
  const closed = once(server.held[0] as net.Socket, 'close');
  controller.abort(new Error('the caller gave up'));
  await assert.rejects(pending, /the caller gave up|aborted/i);
  await closed;
  const response = await request(`${server.url}/next`, { dispatcher: agent });
  assert.equal(await response.body.text(), 'ok');
});

test('an abort before the request reaches a socket: it is never sent', async (t) => {
  const server = await holdServer(t);
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  const controller = new AbortController();
  controller.abort(new Error('aborted at once'));
  await assert.rejects(request(`${server.url}/hold`, { dispatcher: agent, signal: controller.signal }));
  assert.equal(server.held.length, 0);
});

async function resetOnce(t: TestContext) {
  const origin = await startOrigin(t, { idleCloseMs: 60_000 });
  origin.proxy.addToxic({
    name: 'reset-response',
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection: 1 },
  });
  return origin;
}

test('with one attempt allowed, a GET reset after it was written fails with the socket error, not retried', async (t) => {
  const origin = await resetOnce(t);
  const agent = new Agent({ connections: 1, lifeline: { retry: { maxAttempts: 1 } } });
  t.after(() => agent.close());
  await assert.rejects(
    request(`${origin.url}/r`, { dispatcher: agent, headers: { 'x-request-id': 'one' } }),
    (error: unknown) => typeof (error as { code?: unknown }).code === 'string',
  );
  assert.equal(origin.seen.get('one'), 1);
});

test('the fast path and execute() (taken while a tracer listens) answer alike', async (t) => {
  for (const traced of [false, true]) {
    const origin = await resetOnce(t);
    const agent = new Agent({ connections: 1 });
    t.after(() => agent.close());
    const attempts: unknown[] = [];
    const onStart = (message: unknown) => attempts.push(message);
    const channel = diagnostics_channel.channel('tracing:lifeline:exec:attempt:start');
    if (traced) channel.subscribe(onStart);
    try {
      const id = `g-${traced}`;
      const response = await request(`${origin.url}/r`, {
        dispatcher: agent,
        headers: { 'x-request-id': id },
      });
      assert.equal(await response.body.text(), 'ok');
      assert.equal(origin.seen.get(id), 2, 'reset after it was written, then sent again');
    } finally {
      if (traced) channel.unsubscribe(onStart);
    }
    assert.equal(attempts.length, traced ? 2 : 0, 'execute() ran the attempts only when traced');
  }
});
