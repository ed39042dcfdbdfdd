// lifeline's node:http agents, through axios (a real library built on node:http), against the same
// deterministic keep-alive race as race.test.ts. node:http gives an agent no way to send a written request
// again, so what HttpAgent guarantees is that a socket is never reused into the race: the server's hint is
// honoured with a margin, and its idle cut is learned from the FINs it sends on idle sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import type https from 'node:https';
import { test } from 'node:test';
import axios from 'axios';
import { type Dispatcher, request } from 'undici';
import { Agent, HttpAgent, HttpsAgent } from '../../../src/adapters/http/index.js';
import { sleep } from '../../faults/helpers.js';
import {
  certificateOnce,
  doubled,
  type Origin,
  raceRun,
  resetIdleRequests,
  type Send,
  startOrigin,
} from './support.js';

function viaAxios(origin: Origin, agents: { httpAgent?: http.Agent; httpsAgent?: https.Agent }): Send {
  return async (method, id) => {
    const response = await axios.request({
      url: `${origin.url}/a`,
      method,
      headers: { 'x-request-id': id },
      ...(method === 'POST' ? { data: { id } } : {}),
      ...agents,
    });
    assert.equal(response.data, 'ok');
    return response.data;
  };
}

const FAST = { fromMs: 90, toMs: 110 };

async function raceOrigin(t: import('node:test').TestContext, tls?: { key: string; cert: string }) {
  const origin = await startOrigin(t, { idleCloseMs: 100, ...(tls ? { tls } : {}) });
  resetIdleRequests(origin, 95);
  return origin;
}

test('control: node’s http.Agent loses requests to the race', { timeout: 30_000 }, async (t) => {
  const origin = await raceOrigin(t);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => httpAgent.destroy());
  const { errors } = await raceRun(viaAxios(origin, { httpAgent }), 'GET', 30, {
    ...FAST,
    seed: 1,
    prefix: 'g',
  });
  assert.ok(errors.length > 0, 'some requests met the race');
});

test('axios through HttpAgent: once the idle cut is learned, no request meets the race', {
  timeout: 60_000,
}, async (t) => {
  const origin = await startOrigin(t, { idleCloseMs: 100 });
  const httpAgent = new HttpAgent({ maxSockets: 1 });
  t.after(() => httpAgent.destroy());
  const send = viaAxios(origin, { httpAgent });
  await send('GET', 'first'); // before the toxic: a loaded machine may take 95 ms between connect and write
  resetIdleRequests(origin, 95);
  await sleep(150); // the server closes the idle socket: its FIN teaches the agent the cut
  const gets = await raceRun(send, 'GET', 20, { ...FAST, seed: 1, prefix: 'g' });
  const posts = await raceRun(send, 'POST', 20, { ...FAST, seed: 2, prefix: 'p' });
  assert.deepEqual([...gets.errors, ...posts.errors], []);
  assert.deepEqual(doubled(origin), []);
});

test('axios through HttpsAgent (self-signed certificate): no request meets the race once the cut is learned', {
  timeout: 60_000,
}, async (t) => {
  const tls = certificateOnce();
  const origin = await startOrigin(t, { idleCloseMs: 100, tls });
  const httpsAgent = new HttpsAgent({ maxSockets: 1, ca: tls.cert });
  t.after(() => httpsAgent.destroy());
  const send = viaAxios(origin, { httpsAgent });
  await send('GET', 'first');
  resetIdleRequests(origin, 95);
  await sleep(150);
  const posts = await raceRun(send, 'POST', 20, { ...FAST, seed: 3, prefix: 'p' });
  assert.deepEqual(posts.errors, []);
  assert.deepEqual(doubled(origin), []);
});

test('HTTPS through lifeline’s Agent: GETs never fail, POSTs never doubled', {
  timeout: 60_000,
}, async (t) => {
  const tls = certificateOnce();
  const origin = await raceOrigin(t, tls);
  const agent = new Agent({ connections: 1, connect: { ca: tls.cert } });
  t.after(() => agent.close());
  const send: Send = async (method, id) => {
    const response = await request(`${origin.url}/s`, {
      method,
      dispatcher: agent,
      headers: { 'x-request-id': id },
      ...(method === 'POST' ? { body: id } : {}),
    });
    return response.body.text();
  };
  const gets = await raceRun(send, 'GET', 20, { ...FAST, seed: 4, prefix: 'g' });
  assert.deepEqual(gets.errors, []);
  const posts = await raceRun(send, 'POST', 20, { ...FAST, seed: 5, prefix: 'p' });
  assert.deepEqual(posts.errors, []);
  assert.deepEqual(doubled(origin), []);
});

// With a hint: the server says `Keep-Alive: timeout=1` and closes at 1 s; requests at 0.9–1.1 s of idle.
const SLOW = { fromMs: 900, toMs: 1100 };

async function hintedOrigin(t: import('node:test').TestContext) {
  const origin = await startOrigin(t, { idleCloseMs: 1000, hintSeconds: 1 });
  resetIdleRequests(origin, 950);
  return origin;
}

function viaUndici(origin: Origin, dispatcher: Dispatcher): Send {
  return async (method, id) => {
    const response = await request(`${origin.url}/h`, {
      method,
      dispatcher,
      headers: { 'x-request-id': id },
      ...(method === 'POST' ? { body: id } : {}),
    });
    return response.body.text();
  };
}

// undici and Node's http.Agent each keep their own margin under a hint too (undici subtracts
// keepAliveTimeoutThreshold, Node a second); lifeline's holds whichever of them is used.
test('with a Keep-Alive hint: HttpAgent and Agent honour it with a margin, POSTs included, from the start', {
  timeout: 60_000,
}, async (t) => {
  const origin = await hintedOrigin(t);
  const httpAgent = new HttpAgent({ maxSockets: 1, lifeline: { learnIdleCut: false } });
  const agent = new Agent({ connections: 1, lifeline: { learnIdleCut: false } });
  t.after(() => httpAgent.destroy());
  t.after(() => agent.close());
  const [node, undici] = await Promise.all([
    raceRun(viaAxios(origin, { httpAgent }), 'POST', 6, { ...SLOW, seed: 6, prefix: 'n' }),
    raceRun(viaUndici(origin, agent), 'POST', 6, { ...SLOW, seed: 7, prefix: 'u' }),
  ]);
  assert.deepEqual([...node.errors, ...undici.errors], []);
  assert.deepEqual(doubled(origin), []);
});
