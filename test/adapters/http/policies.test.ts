// lifeline-net/http's per-origin policies and its option checks: a circuit breaker that stops sending to an
// origin that keeps refusing, a request never sent because nothing listens (retried, then the cause
// surfaced), and options refused at construction with InvalidOptionError naming them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import { Agent, HttpAgent, interceptor } from '../../../src/adapters/http/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';

/** A loopback port nothing listens on: one the OS gave and that was closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('an origin that keeps refusing opens its circuit breaker: later requests are not attempted', async (t) => {
  const port = await closedPort();
  const agent = new Agent({
    lifeline: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, coolDownMs: 60_000 } },
  });
  t.after(() => agent.close());
  const get = () => request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
  await assert.rejects(get(), { code: 'ECONNREFUSED' });
  await assert.rejects(get(), { code: 'ECONNREFUSED' });
  await assert.rejects(get(), { code: 'LIFELINE_CIRCUIT_OPEN' });
});

test('a POST refused at connect was never sent: its error is the cause, not OutcomeUnknownError', async (t) => {
  const port = await closedPort();
  const agent = new Agent({ lifeline: { retry: { maxAttempts: 3, baseDelayMs: 1 } } });
  t.after(() => agent.close());
  // Not OutcomeUnknownError: nothing was written, whatever the method.
  await assert.rejects(
    request(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x', dispatcher: agent }),
    {
      code: 'ECONNREFUSED',
    },
  );
});

test('options are checked at construction', () => {
  assert.throws(() => new Agent({ lifeline: { deadlineMs: -1 } }), InvalidOptionError);
  assert.throws(() => new Agent({ lifeline: { retry: { maxAttempts: 0 } } }), InvalidOptionError);
  assert.throws(() => new Agent({ lifeline: { breaker: { consecutiveFailures: 0 } } }), InvalidOptionError);
  assert.throws(() => interceptor({ idleCutMs: Number.NaN }), InvalidOptionError);
  assert.throws(() => interceptor({ unknown: 1 } as never), InvalidOptionError);
  assert.throws(() => new HttpAgent({ lifeline: { learnIdleCut: 'yes' as never } }), InvalidOptionError);
});
