// The socket channels on real loopback sockets: a connect traced from dial to open, a connect that fails
// traced with its error, and a death published with its cause, endpoint and how long it went unnoticed.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { CHANNEL_NAMES } from '../../src/observe/index.js';
import { LiveSocket } from '../../src/socket/index.js';
import { closedPort, startServer } from '../pool/support.js';

function recordConnects(t: { after(fn: () => void): void }): Array<[string, Record<string, unknown>]> {
  const events: Array<[string, Record<string, unknown>]> = [];
  const channel = diagnostics_channel.tracingChannel(CHANNEL_NAMES.socketConnect);
  const on = (kind: string) => (m: unknown) => events.push([kind, m as Record<string, unknown>]);
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  channel.subscribe(handlers);
  t.after(() => channel.unsubscribe(handlers));
  return events;
}

function recordDeaths(t: { after(fn: () => void): void }): Record<string, unknown>[] {
  const deaths: Record<string, unknown>[] = [];
  const on = (m: unknown) => deaths.push(m as Record<string, unknown>);
  diagnostics_channel.subscribe(CHANNEL_NAMES.socketDeath, on);
  t.after(() => diagnostics_channel.unsubscribe(CHANNEL_NAMES.socketDeath, on));
  return deaths;
}

test('a dial is traced from start to asyncEnd, and a peer FIN is published as a death', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const connects = recordConnects(t);
  const deaths = recordDeaths(t);
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  await live.ready();
  assert.deepEqual(
    connects.map(([kind]) => kind),
    ['start', 'end', 'asyncStart', 'asyncEnd'],
  );
  assert.equal(connects[0]?.[1].socket, live);
  assert.equal(connects[0]?.[1].endpoint, `127.0.0.1:${server.port}`);
  (await server.nextConnection()).end();
  await new Promise<void>((resolve) => live.onClose(() => resolve()));
  assert.equal(deaths.length, 1);
  const [death] = deaths;
  assert.equal(death?.socket, live);
  assert.equal((death?.death as { cause: string } | undefined)?.cause, 'peer-fin');
  assert.equal(death?.detectMs, 0);
  assert.equal(typeof death?.openMs, 'number');
  live.destroy();
});

test('a refused dial is traced with its error, and its death has no open time', async (t) => {
  const port = await closedPort();
  const connects = recordConnects(t);
  const deaths = recordDeaths(t);
  const live = LiveSocket.connect({ host: '127.0.0.1', port });
  await assert.rejects(live.ready());
  assert.deepEqual(
    connects.map(([kind]) => kind),
    ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
  );
  assert.ok(connects[2]?.[1].error instanceof Error);
  assert.equal(deaths.length, 1);
  assert.equal(deaths[0]?.openMs, undefined);
});

test('with nobody subscribed, nothing is built: the channels report no subscribers', () => {
  for (const name of [CHANNEL_NAMES.poolAcquire, CHANNEL_NAMES.execAttempt, CHANNEL_NAMES.socketConnect]) {
    assert.equal(diagnostics_channel.tracingChannel(name).hasSubscribers, false, name);
  }
  assert.equal(diagnostics_channel.hasSubscribers(CHANNEL_NAMES.socketDeath), false);
});
