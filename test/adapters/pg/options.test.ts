import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../../src/adapters/pg/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { requireService } from '../../support/services.js';
import { connection } from './support.js';

test('bad lifeline options are refused at construction, naming the option', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ bogus: 1 }, /"bogus" is not a known option/],
    [{ keepaliveIdleMs: 500 }, /"keepaliveIdleMs".*1000/],
    [{ maxRetries: -1 }, /"maxRetries"/],
    [{ queryDeadlineMs: Number.NaN }, /"queryDeadlineMs"/],
    [{ targetSessionAttrs: 'leader' }, /"targetSessionAttrs"/],
    [{ idempotent: 'yes' }, /"idempotent"/],
    [{ createBackoffBaseMs: 0 }, /"createBackoffBaseMs"/],
    [{ createBackoffMaxMs: Number.POSITIVE_INFINITY }, /"createBackoffMaxMs"/],
    [
      { createBackoffBaseMs: 500, createBackoffMaxMs: 200 },
      /"createBackoffMaxMs" must be >= createBackoffBaseMs \(500\)/,
    ],
  ];
  for (const [lifeline, message] of cases) {
    assert.throws(
      () => new Pool({ lifeline: lifeline as never }),
      (e: Error & { code?: string }) => e.code === 'LIFELINE_INVALID_OPTION' && message.test(e.message),
      JSON.stringify(lifeline),
    );
  }
  assert.throws(() => new Pool({ pipeline: true }), /pipeline/);
});

test('the password stays out of pool.options when printed', async () => {
  const pool = new Pool({ host: '127.0.0.1', password: 'hunter2', lifeline: {} });
  assert.ok(!JSON.stringify(pool.options).includes('hunter2'));
  assert.equal(pool.options.password, 'hunter2');
  await pool.end();
});

// pg hands its durations to setTimeout as given: Infinity or anything past 2^31-1 ms fires after 1 ms (pg.Pool
// with connectionTimeoutMillis: Infinity fails every connect with "Connection terminated due to connection
// timeout"). lifeline refuses them at construction, under the user's own option name; 0 stays pg's "none".
test('every duration is checked where it is given, under its own name', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ connectionTimeoutMillis: Number.POSITIVE_INFINITY }, 'connectionTimeoutMillis'],
    [{ connectionTimeoutMillis: 1e12 }, 'connectionTimeoutMillis'],
    [{ connectionTimeoutMillis: -1 }, 'connectionTimeoutMillis'],
    [{ idleTimeoutMillis: 1e12 }, 'idleTimeoutMillis'],
    [{ maxLifetimeSeconds: 1e7 }, 'maxLifetimeSeconds'],
    [{ keepAliveInitialDelayMillis: Number.NaN }, 'keepAliveInitialDelayMillis'],
    [{ query_timeout: Number.POSITIVE_INFINITY }, 'query_timeout'],
    [{ maxUses: 1.5 }, 'maxUses'],
    [{ lifeline: { connectTimeoutMs: 1e12 } }, 'connectTimeoutMs'],
    [{ lifeline: { queryDeadlineMs: 1e12 } }, 'queryDeadlineMs'],
    [{ lifeline: { acquireTimeoutMs: 3e9 } }, 'acquireTimeoutMs'],
    [{ lifeline: { cancelTimeoutMs: 1e12 } }, 'cancelTimeoutMs'],
  ];
  for (const [config, option] of cases) {
    assert.throws(
      () => new Pool(config as never),
      (e: Error & { code?: string; option?: string }) =>
        e instanceof InvalidOptionError &&
        e.code === 'LIFELINE_INVALID_OPTION' &&
        e.option === option &&
        e.message.includes(`"${option}"`),
      JSON.stringify(config),
    );
  }
});

test("pg's own '0 means none' is kept: 0 and null construct", async () => {
  const pool = new Pool({
    connectionTimeoutMillis: 0,
    idleTimeoutMillis: 0,
    maxLifetimeSeconds: 0,
    query_timeout: 0,
    maxUses: 0,
  });
  await pool.end();
  const nulls = new Pool({ idleTimeoutMillis: null as unknown as number });
  await nulls.end();
});

test('a per-query deadlineMs out of range is refused before anything is sent, on the pool and on a client', {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const pool = new Pool({ ...connection(), max: 1 });
  const refused = (option: string) => (e: Error & { option?: string }) =>
    e instanceof InvalidOptionError && e.option === option && /deadlineMs/.test(e.message);
  try {
    for (const deadlineMs of [-5, 0, 3e9, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      const config = { text: 'select pg_sleep(0.05)', deadlineMs } as never;
      await assert.rejects(pool.query(config), refused('deadlineMs'), `pool.query ${deadlineMs}`);
      const client = await pool.connect();
      try {
        await assert.rejects(client.query(config), refused('deadlineMs'), `client.query ${deadlineMs}`);
        const viaCallback = await new Promise<Error | null>((resolve) =>
          client.query(config, (err: Error | null) => resolve(err)),
        );
        assert.ok(viaCallback && refused('deadlineMs')(viaCallback), `client.query callback ${deadlineMs}`);
        // Nothing ran, nothing was cancelled: the client answers its next statement.
        assert.equal((await client.query('select 1 as n')).rows[0].n, 1);
      } finally {
        client.release();
      }
    }
    const ok = await pool.query({ text: 'select 2 as n', deadlineMs: 5000 });
    assert.equal(ok.rows[0].n, 2);
  } finally {
    await pool.end();
  }
});
