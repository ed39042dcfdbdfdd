// A statement's lifeline fields (deadlineMs, idempotent) are read and checked one way for pool.query and a
// checked-out client, and a pool.query deadline is carried by exec alone (no timer of the adapter's own).
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { test } from 'node:test';
import { DeadlineExceededError, Pool } from '../../../src/adapters/pg/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { requireService } from '../../support/services.js';
import { connection } from './support.js';

test('a non-boolean per-query idempotent is refused before anything is sent, on the pool and on a client', {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const pool = new Pool({ ...connection(), max: 1 });
  const refused = (e: Error & { option?: string }) =>
    e instanceof InvalidOptionError &&
    e.option === 'idempotent' &&
    /lifeline-net\/pg query option "idempotent" must be a boolean, got 'yes'/.test(e.message);
  try {
    const config = { text: 'select 1 as n', idempotent: 'yes' } as never;
    await assert.rejects(pool.query(config), refused, 'pool.query');
    const client = await pool.connect();
    try {
      await assert.rejects(client.query(config), refused, 'client.query');
      assert.equal((await client.query({ text: 'select 3 as n', idempotent: true })).rows[0].n, 3);
    } finally {
      client.release();
    }
    assert.equal((await pool.query({ text: 'select 4 as n', idempotent: false })).rows[0].n, 4);
  } finally {
    await pool.end();
  }
});

test("pool.query's deadline is exec's: the adapter arms no timer per statement, and a late statement is still stopped", {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const pool = new Pool({ ...connection(), max: 1, lifeline: { queryDeadlineMs: 10_000 } });
  try {
    await pool.query('select 1'); // the connection, and its own timers, exist before counting
    let timers = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'Timeout') timers++;
      },
    });
    const statements = 40;
    hook.enable();
    try {
      for (let i = 0; i < statements; i++) await pool.query({ text: 'select $1::int as n', values: [i] });
      for (let i = 0; i < statements; i++) {
        await pool.query({ text: 'select $1::int as n', values: [i], deadlineMs: 5000 });
      }
    } finally {
      hook.disable();
    }
    // Before, every statement with a deadline armed one (runQuery's own), besides exec's shared one.
    assert.ok(timers < statements, `${timers} timers for ${2 * statements} statements`);
    await assert.rejects(pool.query({ text: 'select pg_sleep(30)', deadlineMs: 300 }), DeadlineExceededError);
    // The statement was cancelled on the server: the connection answers the next one.
    assert.equal((await pool.query('select 5 as n')).rows[0].n, 5);
  } finally {
    await pool.end();
  }
});
