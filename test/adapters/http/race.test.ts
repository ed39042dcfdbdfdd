// The keep-alive reuse race (incident 3, nodejs/node #20256 / #47130, undici's "other side closed"), made
// deterministic: the server closes sockets idle for 100 ms with its own timer, and the fault proxy resets any
// request that reaches a connection idle for 95 ms or more, as the closing server would. Requests go out at
// 90–110 ms of idle, on one connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Dispatcher, request, Agent as UndiciAgent } from 'undici';
import { Agent, fetch, interceptor, OutcomeUnknownError } from '../../../src/adapters/http/index.js';
import { doubled, type Origin, raceRun, resetIdleRequests, type Send, startOrigin } from './support.js';

const WINDOW = { fromMs: 90, toMs: 110 };

function viaUndici(origin: Origin, dispatcher: Dispatcher): Send {
  return async (method, id, headers = {}) => {
    const response = await request(`${origin.url}/r`, {
      method,
      dispatcher,
      headers: { 'x-request-id': id, ...headers },
      ...(method === 'POST' ? { body: `{"id":"${id}"}` } : {}),
    });
    const text = await response.body.text();
    assert.equal(text, 'ok');
    return text;
  };
}

function viaFetch(origin: Origin, dispatcher: Agent): Send {
  return async (method, id, headers = {}) => {
    const response = await fetch(`${origin.url}/r`, {
      method,
      dispatcher,
      headers: { 'x-request-id': id, ...headers },
      ...(method === 'POST' ? { body: `{"id":"${id}"}` } : {}),
    });
    const text = await response.text();
    assert.equal(text, 'ok');
    return text;
  };
}

async function raceOrigin(t: import('node:test').TestContext): Promise<Origin> {
  const origin = await startOrigin(t, { idleCloseMs: 100 });
  resetIdleRequests(origin, 95);
  return origin;
}

test('control: undici’s own Agent loses requests to the race', { timeout: 30_000 }, async (t) => {
  const origin = await raceOrigin(t);
  const agent = new UndiciAgent({ connections: 1 });
  t.after(() => agent.close());
  const { errors } = await raceRun(viaUndici(origin, agent), 'GET', 30, { ...WINDOW, seed: 1, prefix: 'g' });
  assert.ok(errors.length > 0, 'some requests met the race');
  assert.match(String((errors[0] as { code?: string }).code), /UND_ERR_SOCKET|ECONNRESET/);
});

test('Agent: GETs never fail; POSTs never doubled, and not raced once the idle cut is learned', {
  timeout: 60_000,
}, async (t) => {
  const origin = await raceOrigin(t);
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  const send = viaUndici(origin, agent);
  const gets = await raceRun(send, 'GET', 30, { ...WINDOW, seed: 1, prefix: 'g' });
  assert.deepEqual(gets.errors, []);
  assert.ok(origin.idleCloses() > 0, 'the server closed idle sockets, so the cut could be learned');
  const posts = await raceRun(send, 'POST', 30, { ...WINDOW, seed: 2, prefix: 'p' });
  assert.deepEqual(posts.errors, []);
  assert.deepEqual(doubled(origin), []);
});

test('Agent: before the cut is known a raced POST is OutcomeUnknownError, never applied twice', {
  timeout: 60_000,
}, async (t) => {
  const origin = await raceOrigin(t);
  const agent = new Agent({ connections: 1, lifeline: { learnIdleCut: false } });
  t.after(() => agent.close());
  const posts = await raceRun(viaUndici(origin, agent), 'POST', 30, { ...WINDOW, seed: 1, prefix: 'p' });
  assert.ok(posts.errors.length > 0, 'some POSTs met the race');
  for (const error of posts.errors) assert.ok(error instanceof OutcomeUnknownError, String(error));
  assert.deepEqual(doubled(origin), []);
});

test('interceptor on undici’s Agent: GETs never fail, POSTs never doubled', {
  timeout: 60_000,
}, async (t) => {
  const origin = await raceOrigin(t);
  const plain = new UndiciAgent({ connections: 1 });
  t.after(() => plain.close());
  const send = viaUndici(origin, plain.compose(interceptor()));
  const gets = await raceRun(send, 'GET', 30, { ...WINDOW, seed: 1, prefix: 'g' });
  assert.deepEqual(gets.errors, []);
  const posts = await raceRun(send, 'POST', 20, { ...WINDOW, seed: 2, prefix: 'p' });
  for (const error of posts.errors) assert.ok(error instanceof OutcomeUnknownError, String(error));
  assert.deepEqual(doubled(origin), []);
});

test('fetch: GETs never fail; POSTs never doubled (a lost one is OutcomeUnknownError)', {
  timeout: 60_000,
}, async (t) => {
  const origin = await raceOrigin(t);
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  const send = viaFetch(origin, agent);
  const gets = await raceRun(send, 'GET', 30, { ...WINDOW, seed: 1, prefix: 'g' });
  assert.deepEqual(gets.errors, []);
  // fetch hands undici every body as a stream: a POST that was written is never sent again.
  const posts = await raceRun(send, 'POST', 20, { ...WINDOW, seed: 2, prefix: 'p' });
  for (const error of posts.errors) {
    assert.ok(error instanceof TypeError && error.cause instanceof OutcomeUnknownError, String(error));
  }
  assert.deepEqual(doubled(origin), []);
});
