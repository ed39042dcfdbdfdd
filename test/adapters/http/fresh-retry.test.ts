// A pool full of sockets the path has gone bad on (every connection idle for 50 ms is reset by the fault proxy
// on its next request), with idle-cut learning off: each GET's first attempt meets a stale socket and is not
// processed; its retry runs on a new connection (lifeline's Agent sends every retry on a connection of its
// own — undici's pool order would often give one here too, so this checks the outcome, not the choice).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { Agent } from '../../../src/adapters/http/index.js';
import { sleep } from '../../faults/helpers.js';
import { resetIdleRequests, startOrigin } from './support.js';

test('GETs over a pool of stale sockets succeed within two attempts, each processed once', async (t) => {
  const origin = await startOrigin(t, { idleCloseMs: 60_000 });
  // Two attempts only: with the retry on another pooled (stale) socket, the GET would fail. Idle-cut learning
  // off: a path that goes bad without a FIN on idle sockets (a middlebox) teaches the agent nothing.
  const agent = new Agent({ connections: 4, lifeline: { retry: { maxAttempts: 2 }, learnIdleCut: false } });
  t.after(() => agent.close());
  const get = async (id: string) => {
    const response = await request(`${origin.url}/r`, { dispatcher: agent, headers: { 'x-request-id': id } });
    return response.body.text();
  };
  // Four sockets in the pool, all opened at once.
  assert.deepEqual(await Promise.all(['w1', 'w2', 'w3', 'w4'].map(get)), ['ok', 'ok', 'ok', 'ok']);
  const opened = origin.proxy.connections().length;
  assert.equal(opened, 4);
  resetIdleRequests(origin, 50);
  await sleep(120); // every pooled socket is now idle past 50 ms: its next request is reset
  for (let i = 0; i < 3; i++) assert.equal(await get(`g${i}`), 'ok');
  // Each GET: its first attempt met a stale socket (reset, not processed); its retry ran on a new one.
  for (let i = 0; i < 3; i++) assert.equal(origin.seen.get(`g${i}`), 1);
});
