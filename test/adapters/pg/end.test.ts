// pool.end() refuses new work only: what was issued before it — a running query, queries and connects
// queued for a client — runs to its end, then the pool closes. (pg.Pool lets a running query finish too;
// a query queued behind it never settles there, which docs/pg.md lists among the differences.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../../src/adapters/pg/index.js';
import { requireService } from '../../support/services.js';
import { connection } from './support.js';

const refused = /Cannot use a pool after calling end on the pool/;

test('end() lets running and queued work finish; only new work is refused', {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const pool = new Pool({ ...connection(), max: 1 });
  const running = pool.query('select pg_sleep(0.2), 1 as n');
  const queued = pool.query('select $1::int as n', [2]);
  const queuedConnect = pool.connect();
  const queuedCallback = new Promise<number>((resolve, reject) =>
    pool.query('select 3 as n', (err: Error | undefined, r) => (err ? reject(err) : resolve(r.rows[0].n))),
  );
  assert.ok(pool.waitingCount >= 1, 'the later ones wait for the only client');
  const ended = pool.end();
  await assert.rejects(pool.query('select 4'), refused);
  await assert.rejects(pool.connect(), refused);
  assert.equal((await running).rows[0].n, 1);
  assert.equal((await queued).rows[0].n, 2);
  const client = await queuedConnect;
  assert.equal((await client.query('select 5 as n')).rows[0].n, 5);
  client.release();
  assert.equal(await queuedCallback, 3);
  await ended;
  assert.equal(pool.ended, true);
  assert.equal(pool.totalCount, 0);
});

test('end() with nothing issued closes at once; a second end() is an error, as in pg', async () => {
  const pool = new Pool(connection());
  await pool.end();
  assert.equal(pool.ended, true);
  await assert.rejects(pool.end(), /Called end on pool more than once/);
});
