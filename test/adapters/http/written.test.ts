// Resets after the request was written: the server processed it, and the connection is reset as the
// response starts back (the fault proxy's reset_peer on the first connection's downstream). What the server
// could have seen decides: a GET is sent again, a POST is OutcomeUnknownError, a POST with an
// Idempotency-Key is sent again.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { request } from 'undici';
import { Agent, OutcomeUnknownError } from '../../../src/adapters/http/index.js';
import { until } from '../../faults/helpers.js';
import { type Origin, startOrigin } from './support.js';

async function resetFirstResponse(t: TestContext): Promise<{ origin: Origin; agent: Agent }> {
  const origin = await startOrigin(t, { idleCloseMs: 60_000 });
  origin.proxy.addToxic({
    name: 'reset-response',
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection: 1 },
  });
  const agent = new Agent({ connections: 1 });
  t.after(() => agent.close());
  return { origin, agent };
}

async function send(origin: Origin, agent: Agent, method: string, id: string, headers = {}) {
  const response = await request(`${origin.url}/w`, {
    method: method as 'GET',
    dispatcher: agent,
    headers: { 'x-request-id': id, ...headers },
    ...(method === 'POST' ? { body: 'payload' } : {}),
  });
  return response.body.text();
}

test('a GET reset after it was written is sent again', async (t) => {
  const { origin, agent } = await resetFirstResponse(t);
  assert.equal(await send(origin, agent, 'GET', 'g1'), 'ok');
  assert.equal(origin.seen.get('g1'), 2, 'the server processed it twice: it is idempotent');
});

test('a POST reset after it was written fails with OutcomeUnknownError, and is not sent again', async (t) => {
  const { origin, agent } = await resetFirstResponse(t);
  await assert.rejects(send(origin, agent, 'POST', 'p1'), (error: unknown) => {
    assert.ok(error instanceof OutcomeUnknownError);
    assert.equal(error.code, 'LIFELINE_OUTCOME_UNKNOWN');
    assert.ok(error.cause instanceof Error, 'the socket error is chained');
    return true;
  });
  assert.equal(origin.seen.get('p1'), 1);
});

test('a POST with an Idempotency-Key reset after it was written is sent again', async (t) => {
  const { origin, agent } = await resetFirstResponse(t);
  assert.equal(await send(origin, agent, 'POST', 'k1', { 'Idempotency-Key': 'k1' }), 'ok');
  assert.equal(origin.seen.get('k1'), 2);
});

test('a POST with a stream body is not sent again, even with an Idempotency-Key', async (t) => {
  const { origin, agent } = await resetFirstResponse(t);
  const { Readable } = await import('node:stream');
  const attempt = request(`${origin.url}/w`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'x-request-id': 's1', 'idempotency-key': 's1' },
    body: Readable.from(['pay', 'load']),
  });
  await assert.rejects(attempt, OutcomeUnknownError);
  assert.equal(origin.seen.get('s1'), 1);
});

test('a response overdue past deadlineMs ends with DeadlineExceededError and retires its socket', {
  timeout: 10_000,
}, async (t) => {
  const origin = await startOrigin(t, { idleCloseMs: 60_000 });
  // The server's answer never comes back: every response byte is held.
  origin.proxy.addToxic({ name: 'hold', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
  const agent = new Agent({ connections: 1, lifeline: { deadlineMs: 300 } });
  t.after(() => agent.destroy());
  await assert.rejects(send(origin, agent, 'GET', 'd1'), { code: 'LIFELINE_DEADLINE_EXCEEDED' });
  // The socket was retired (the held proxy connection does not pass the close on, so ask undici).
  await until(() => Object.values(agent.stats).every((stats) => !stats.connected));
});
