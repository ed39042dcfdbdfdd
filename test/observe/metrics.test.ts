// Pool metrics through a real prom-client Registry, scraped and parsed: a core Pool of LiveSockets to a loopback
// server, its OpenTelemetry connection metrics, its durations, and socket deaths by cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { instrument } from '../../src/observe/index.js';
import { Pool } from '../../src/pool/index.js';
import type { LiveSocket } from '../../src/socket/index.js';
import { socketFactory, startServer } from '../pool/support.js';
import { parsePromText, sample } from './prom-text.js';

const POOL = 'db_client_connection_pool_name';

test('a pool reports the connection metrics under their OpenTelemetry names, read back from the scrape', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const pool = new Pool<LiveSocket>({ factory: socketFactory(server.port, { onDeath: true }), max: 3 });
  t.after(() => pool.drain());
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool, 'orders');
  t.after(() => metrics.close());

  const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  const fourth = pool.acquire();
  let scrape = parsePromText(await registry.metrics());
  assert.equal(scrape.types.get('db_client_connection_count'), 'gauge');
  assert.equal(scrape.types.get('db_client_connection_timeouts_total'), 'counter');
  assert.equal(scrape.types.get('db_client_connection_wait_time_seconds'), 'histogram');
  assert.equal(
    sample(scrape, 'db_client_connection_count', { [POOL]: 'orders', db_client_connection_state: 'used' }),
    3,
  );
  assert.equal(
    sample(scrape, 'db_client_connection_count', { [POOL]: 'orders', db_client_connection_state: 'idle' }),
    0,
  );
  assert.equal(sample(scrape, 'db_client_connection_pending_requests', { [POOL]: 'orders' }), 1);
  assert.equal(sample(scrape, 'db_client_connection_max', { [POOL]: 'orders' }), 3);
  assert.equal(sample(scrape, 'db_client_connection_idle_min', { [POOL]: 'orders' }), 0);
  assert.equal(sample(scrape, 'db_client_connection_create_time_seconds_count', { [POOL]: 'orders' }), 3);

  for (const socket of held) pool.release(socket);
  pool.release(await fourth);
  scrape = parsePromText(await registry.metrics());
  assert.equal(
    sample(scrape, 'db_client_connection_count', { [POOL]: 'orders', db_client_connection_state: 'idle' }),
    3,
  );
  assert.equal(sample(scrape, 'db_client_connection_wait_time_seconds_count', { [POOL]: 'orders' }), 4);
  assert.equal(sample(scrape, 'db_client_connection_use_time_seconds_count', { [POOL]: 'orders' }), 4);
  const inf = sample(scrape, 'db_client_connection_wait_time_seconds_bucket', {
    [POOL]: 'orders',
    le: '+Inf',
  });
  assert.equal(inf, 4);
});

test('an acquire that times out counts in db.client.connection.timeouts', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const pool = new Pool<LiveSocket>({ factory: socketFactory(server.port), max: 1 });
  t.after(() => pool.drain());
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool, 'p');
  t.after(() => metrics.close());
  const held = await pool.acquire();
  await assert.rejects(pool.acquire({ timeoutMs: 20 }), { code: 'LIFELINE_ACQUIRE_TIMEOUT' });
  pool.release(held);
  const scrape = parsePromText(await registry.metrics());
  assert.equal(sample(scrape, 'db_client_connection_timeouts_total', { [POOL]: 'p' }), 1);
});

test('a server that closes idle connections shows as socket deaths by cause and dead evictions', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const pool = new Pool<LiveSocket>({ factory: socketFactory(server.port, { onDeath: true }), max: 2 });
  t.after(() => pool.drain());
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool, 'p');
  t.after(() => metrics.close());
  const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
  pool.release(a as LiveSocket);
  pool.release(b as LiveSocket);
  const evicted = new Promise<void>((resolve) => {
    let n = 0;
    pool.on('evict', () => {
      if (++n === 2) resolve();
    });
  });
  for (const socket of server.accepted) socket.end();
  await evicted;
  const scrape = parsePromText(await registry.metrics());
  assert.ok(sample(scrape, 'lifeline_socket_deaths_total', { lifeline_death_cause: 'peer-fin' }) >= 2);
  assert.equal(
    sample(scrape, 'lifeline_pool_evictions_total', { [POOL]: 'p', lifeline_evict_reason: 'dead' }),
    2,
  );
  assert.ok(
    sample(scrape, 'lifeline_socket_death_detect_time_seconds_count', { lifeline_death_cause: 'peer-fin' }) >=
      2,
  );
});

test('instrument refuses a call without a destination, a non-pool and a name used twice', () => {
  assert.throws(() => instrument({}), { code: 'LIFELINE_INVALID_OPTION' });
  const registry = new Registry();
  const metrics = instrument({ registry });
  try {
    assert.throws(() => metrics.pool({}), { code: 'LIFELINE_INVALID_OPTION' });
    const pool = new Pool<object>({
      factory: { create: async () => ({}), destroy: async () => {}, alive: () => true },
      max: 1,
    });
    metrics.pool(pool, 'x');
    assert.throws(() => metrics.pool(pool, 'x'), { code: 'LIFELINE_INVALID_OPTION' });
    assert.throws(() => instrument({ registry }), { code: 'METRIC_NAME_TAKEN' });
    void pool.drain();
  } finally {
    metrics.close();
  }
  // Closed: its names are free again.
  instrument({ registry }).close();
});
