// What pg.Pool users and libraries observe beyond query results, side by side with pg.Pool: maxUses retires
// a client after exactly that many checkouts, 'connect' fires once per connection that succeeded (never for
// one that failed), and the `log` option receives pg.Pool's own messages at the same moments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { type LifelinePoolConfig, Pool } from '../../../src/adapters/pg/index.js';
import { requireService } from '../../support/services.js';
import { connection, ended, removed } from './support.js';

// lifeline's Pool is a pg.Pool (it extends it), so both are typed as one.
type AnyPool = pg.Pool;
const both = (config: LifelinePoolConfig): [AnyPool, AnyPool] => [
  new pg.Pool({ ...connection(), ...config }),
  new Pool({ ...connection(), ...config }),
];

test('maxUses: a client serves exactly maxUses checkouts, then the next one gets a new connection', {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const patterns: string[] = [];
  for (const pool of both({ max: 1, maxUses: 2 })) {
    const pids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await pool.query('select pg_backend_pid() as pid');
      pids.push(r.rows[0].pid);
    }
    // a a b b c c: letters by first appearance, so the two pools' patterns compare.
    patterns.push(pids.map((p) => String.fromCharCode(97 + [...new Set(pids)].indexOf(p))).join(''));
    await pool.end();
  }
  assert.equal(patterns[0], 'aabbcc');
  assert.equal(patterns[1], patterns[0]);
});

test("'connect' fires once per connection made, never for a failed one", { timeout: 20_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  for (const pool of both({ max: 2 })) {
    let connects = 0;
    pool.on('connect', () => connects++);
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    a.release();
    b.release();
    assert.equal(connects, 2);
    await pool.end();
  }
  for (const pool of both({ max: 2, database: 'lifeline_no_such_db', lifeline: { connectRetryMs: 0 } })) {
    let connects = 0;
    pool.on('connect', () => connects++);
    await assert.rejects(pool.query('select 1'));
    assert.equal(connects, 0);
    await pool.end();
  }
});

test("the log option gets pg.Pool's messages for the same events", { timeout: 20_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const logs: string[][] = [];
  for (const make of [(c: LifelinePoolConfig) => new pg.Pool(c), (c: LifelinePoolConfig) => new Pool(c)]) {
    const messages: string[] = [];
    const pool: AnyPool = make({
      ...connection(),
      max: 1,
      idleTimeoutMillis: 30,
      maxUses: 2,
      log: (message: string) => messages.push(message),
    });
    await pool.query('select 1'); // connects, dispatches; 1st use
    let client = await pool.connect(); // 2nd use: expended on release
    let gone = Promise.all([removed(pool), ended(client)]);
    client.release();
    await gone;
    client = await pool.connect(); // a new client, left to the idle timeout
    gone = Promise.all([removed(pool), ended(client)]);
    client.release();
    await gone;
    await pool.end();
    logs.push(messages);
  }
  const [theirs, ours] = logs;
  const expected = [
    'connecting new client',
    'new client connected',
    'dispatching query',
    'query dispatched',
    'remove expended client',
    'remove idle client',
    'ending',
  ];
  for (const message of expected) {
    assert.ok(theirs?.includes(message), `pg.Pool logs '${message}'`);
    assert.ok(ours?.includes(message), `lifeline logs '${message}'`);
  }
});
