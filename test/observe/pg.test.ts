// The tracing channels and the metrics against the real PostgreSQL, through lifeline-net/pg's Pool: what an
// OpenTelemetry instrumentation subscribing to lifeline's channels would receive, and what a scrape reads.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { Pool } from '../../src/adapters/pg/index.js';
import { CHANNEL_NAMES, instrument } from '../../src/observe/index.js';
import { connection } from '../adapters/pg/support.js';
import { requireService } from '../support/services.js';
import { parsePromText, sample } from './prom-text.js';

type Event = [kind: string, payload: Record<string, unknown>];

/** Records every event of a TracingChannel, in order, until the test ends. */
function record(t: { after(fn: () => void): void }, name: string): Event[] {
  const events: Event[] = [];
  const channel = diagnostics_channel.tracingChannel(name);
  const on = (kind: string) => (message: unknown) => events.push([kind, message as Record<string, unknown>]);
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

test('pool.query on Postgres publishes acquire and attempt traces with their payloads', async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const acquires = record(t, CHANNEL_NAMES.poolAcquire);
  const connects = record(t, CHANNEL_NAMES.socketConnect);
  const attempts = record(t, CHANNEL_NAMES.execAttempt);
  const pool = new Pool({ ...connection(), max: 1 });
  t.after(() => pool.end());

  const { rows } = await pool.query('select 41 + 1 as n');
  assert.equal(rows[0].n, 42);

  assert.deepEqual(
    acquires.map(([kind]) => kind),
    ['start', 'end', 'asyncStart', 'asyncEnd'],
  );
  const acquire = acquires[0]?.[1] ?? {};
  assert.equal(acquire.idle, 0);
  assert.equal(acquire.waiting, 0);
  assert.equal(typeof (acquire.result as pg.PoolClient).query, 'function', 'the lent client is the result');

  // lifeline-net/pg watches pg's socket once it has connected: its connects are create_time, not traces.
  assert.deepEqual(connects, []);

  const started = attempts.filter(([kind]) => kind === 'start');
  assert.equal(started.length, 1);
  assert.equal(started[0]?.[1].attempt, 1);
  assert.equal(started[0]?.[1].hedge, false);
  assert.ok(attempts.some(([kind]) => kind === 'asyncEnd'));
  assert.ok(!attempts.some(([kind]) => kind === 'error'));
});

test('a backend killed under its own query: attempt errors carry the classification, deaths reach the death channel and the scrape', async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const attempts = record(t, CHANNEL_NAMES.execAttempt);
  const deaths: Record<string, unknown>[] = [];
  const onDeath = (message: unknown) => deaths.push(message as Record<string, unknown>);
  diagnostics_channel.subscribe(CHANNEL_NAMES.socketDeath, onDeath);
  t.after(() => diagnostics_channel.unsubscribe(CHANNEL_NAMES.socketDeath, onDeath));
  const pool = new Pool({ ...connection(), max: 2, lifeline: { maxRetries: 1, retryBackoffMs: 1 } });
  t.after(() => pool.end());
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool, 'pg-test');
  t.after(() => metrics.close());

  // Each attempt terminates its own backend: 57P01, which lifeline-net/pg retries once, then gives up.
  await assert.rejects(pool.query('select pg_terminate_backend(pg_backend_pid())'));
  const errors = attempts.filter(([kind]) => kind === 'error').map(([, p]) => p);
  assert.equal(errors.length, 2);
  assert.deepEqual(
    errors.map((p) => p.attempt),
    [1, 2],
  );
  for (const p of errors) {
    assert.equal(typeof p.classification, 'string');
    assert.ok(p.error instanceof Error);
  }
  // The dead connections leave the pool; their deaths were published with a cause and the endpoint.
  await pool.query('select 1');
  assert.ok(deaths.length >= 2, `${deaths.length} deaths published`);
  for (const d of deaths) {
    assert.equal(d.endpoint, `${connection().host}:${connection().port}`);
    assert.equal(typeof (d.death as { cause: unknown }).cause, 'string');
  }

  const scrape = parsePromText(await registry.metrics());
  const failures = scrape.samples
    .filter((s) => s.name === 'lifeline_exec_attempt_failures_total')
    .reduce((sum, s) => sum + s.value, 0);
  assert.ok(failures >= 2, `${failures} attempt failures scraped`);
  const deathsScraped = scrape.samples
    .filter((s) => s.name === 'lifeline_socket_deaths_total')
    .reduce((sum, s) => sum + s.value, 0);
  assert.ok(deathsScraped >= 2);
  const pool_name = { db_client_connection_pool_name: 'pg-test' };
  assert.equal(sample(scrape, 'db_client_connection_max', pool_name), 2);
  assert.ok(sample(scrape, 'db_client_connection_create_time_seconds_count', pool_name) >= 3);
  const evicted = scrape.samples
    .filter(
      (s) =>
        s.name === 'lifeline_pool_evictions_total' && s.labels.db_client_connection_pool_name === 'pg-test',
    )
    .reduce((sum, s) => sum + s.value, 0);
  assert.ok(evicted >= 2, `${evicted} evictions scraped`);
});
