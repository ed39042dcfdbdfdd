// Incident 1's metric against the real Redis: the server closes a lifeline-net/redis (ioredis API) connection;
// lifeline's LiveSocket knows it is dead while ioredis still says `ready`, and that disagreement is published
// and counted, beside the socket death.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { Redis as PlainRedis } from 'ioredis';
import { Registry } from 'prom-client';
import { Redis } from '../../src/adapters/redis/index.js';
import { CHANNEL_EVENTS, instrument } from '../../src/observe/index.js';
import { requireService, services } from '../support/services.js';
import { parsePromText, sample } from './prom-text.js';

test('a connection the server kills is a disagreement with ioredis status=ready, published and scraped', async (t) => {
  if (!(await requireService(t, 'redis'))) return;
  const { host, port } = services.redis;
  const registry = new Registry();
  const metrics = instrument({ registry });
  t.after(() => metrics.close());
  const seen: Record<string, unknown>[] = [];
  const on = (m: unknown) => seen.push(m as Record<string, unknown>);
  diagnostics_channel.subscribe(CHANNEL_EVENTS.driverDisagreement, on);
  t.after(() => diagnostics_channel.unsubscribe(CHANNEL_EVENTS.driverDisagreement, on));

  const redis = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {});
  await redis.connect();
  const id = String(await redis.client('ID'));
  const admin = new PlainRedis({ host, port });
  t.after(() => admin.disconnect());
  const closed = new Promise<void>((resolve) => redis.once('close', () => resolve()));
  await admin.client('KILL', 'ID', id);
  await closed;

  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.driver, 'ioredis');
  assert.equal(seen[0]?.flag, 'status=ready');
  assert.equal(seen[0]?.endpoint, `${host}:${port}`);
  const scrape = parsePromText(await registry.metrics());
  assert.equal(
    sample(scrape, 'lifeline_driver_disagreements_total', {
      lifeline_driver: 'ioredis',
      lifeline_driver_flag: 'status=ready',
    }),
    1,
  );
  assert.ok(sample(scrape, 'lifeline_socket_deaths_total', { lifeline_death_cause: 'peer-fin' }) >= 1);
  redis.disconnect();
});
