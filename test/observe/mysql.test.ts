// lifeline-net/mysql's pool through instrument(), against the real MariaDB: the core pool under mysql2's API
// is found, and a scrape reads its connections back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createPool } from '../../src/adapters/mysql/promise.js';
import { instrument } from '../../src/observe/index.js';
import { requireService, services } from '../support/services.js';
import { parsePromText, sample } from './prom-text.js';

test('a lifeline-net/mysql pool reports its connections by state', async (t) => {
  if (!(await requireService(t, 'mysql'))) return;
  const { host, port, user, database } = services.mysql;
  const pool = createPool({ host, port, user, database, connectionLimit: 2 });
  t.after(() => pool.end());
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool.pool, 'maria');
  t.after(() => metrics.close());
  const conn = await pool.getConnection();
  const [rows] = await pool.query('select 1 as n');
  assert.deepEqual(rows, [{ n: 1 }]);
  const scrape = parsePromText(await registry.metrics());
  const name = { db_client_connection_pool_name: 'maria' };
  assert.equal(
    sample(scrape, 'db_client_connection_count', { ...name, db_client_connection_state: 'used' }),
    1,
  );
  assert.equal(sample(scrape, 'db_client_connection_max', name), 2);
  assert.ok(sample(scrape, 'db_client_connection_create_time_seconds_count', name) >= 1);
  conn.release();
});
