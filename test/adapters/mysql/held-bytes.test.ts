/**
 * Reply verification must never conclude "the server never received it" from the session's idle time: a
 * middlebox (here the fault proxy's latency toxic) may still hold the statement's bytes when the server is
 * asked, and deliver them after the connection was given up. A plain write whose bytes left the client is then
 * OutcomeUnknownError and applied at most once; a read or a write declared idempotent is retried.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool } from '../../../src/adapters/mysql/promise.js';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { admin, dropTable, freshTable, sleep, withProxy } from './support.js';

/** Rows of `table` with `id`, read on a direct connection. */
async function countRows(table: string, id: string): Promise<number> {
  const c = await admin();
  try {
    const [rows] = await c.query(`select count(*) as n from ${table} where id = ?`, [id]);
    return Number((rows as Array<{ n: number }>)[0]?.n);
  } finally {
    await c.end();
  }
}

/** Waits (bounded: 200 rounds) until the proxy has closed its connection `id`, held bytes and end delivered. */
async function closedByProxy(proxy: FaultProxy, id: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!proxy.connections().some((c) => c.id === id)) return;
    await sleep(25);
  }
  assert.fail(`the proxy still holds connection ${id}`);
}

/**
 * Holds everything the pool's only connection sends from now on for `holdMs` (the latency toxic), then lets
 * it through. Returns the proxy's id of that connection.
 */
function holdUpstream(proxy: FaultProxy, holdMs: number): number {
  const ids = proxy.connections().map((c) => c.id);
  assert.equal(ids.length, 1, 'one pool connection open');
  const id = ids[0] as number;
  proxy.addToxic({
    name: 'hold',
    type: 'latency',
    stream: 'upstream',
    attributes: { latency: holdMs },
    target: { connection: id },
  });
  return id;
}

describe('lifeline-net/mysql: a statement held by a middlebox while the server is asked', () => {
  test('a plain INSERT is OutcomeUnknownError and applied once, not retried', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPool({
        ...endpoint,
        connectionLimit: 1,
        lifeline: { verifyAfterMs: 100, acquireTimeoutMs: 5000 },
      });
      try {
        // The same INSERT first, as the soak's workload runs it: the session is read-write and the statement
        // prepared (mysql2 caches it), so only COM_STMT_EXECUTE is held; then the session sits idle (Sleep)
        // for longer than the INSERT will have been awaited when the server is asked.
        const insert = `insert into ${table} (id, n) values (?, 1)`;
        await pool.execute(insert, ['warm']);
        await sleep(300);
        const id = holdUpstream(proxy, 1500);
        const outcome = await pool.execute(insert, ['held']).then(
          () => 'acknowledged',
          (error: unknown) => error,
        );
        proxy.removeToxic('hold');
        await closedByProxy(proxy, id);
        const rows = await countRows(table, 'held');
        assert.ok(rows <= 1, `the INSERT was applied ${rows} times`);
        assert.ok(
          outcome instanceof OutcomeUnknownError,
          `a write whose bytes left the client ends in OutcomeUnknownError, got ${String(outcome)}`,
        );
        assert.equal(rows, 1, 'the held INSERT reached the server after all');
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test('an INSERT still queued behind a held read-write switch is retried, applied once', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPool({
        ...endpoint,
        connectionLimit: 1,
        lifeline: { verifyAfterMs: 100, acquireTimeoutMs: 5000 },
      });
      try {
        // A read leaves the session read-only: the INSERT waits behind SET SESSION TRANSACTION READ WRITE, and
        // only that switch is held; lifeline never wrote the INSERT on this connection, so it runs again.
        await pool.query('select 1');
        await sleep(300);
        const id = holdUpstream(proxy, 1500);
        await pool.query(`insert into ${table} (id, n) values (?, 1)`, ['queued']);
        proxy.removeToxic('hold');
        await closedByProxy(proxy, id);
        assert.equal(await countRows(table, 'queued'), 1);
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test('a read and an INSERT declared idempotent are retried', { timeout: 30_000 }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPool({
        ...endpoint,
        connectionLimit: 1,
        lifeline: { verifyAfterMs: 100, acquireTimeoutMs: 5000 },
      });
      try {
        await pool.query('select 1');
        await sleep(300);
        const first = holdUpstream(proxy, 1500);
        const [rows] = await pool.query('select 2 as two');
        assert.deepEqual(rows, [{ two: 2 }]);
        proxy.removeToxic('hold');
        await closedByProxy(proxy, first);

        await pool.query('do 1');
        await sleep(300);
        const second = holdUpstream(proxy, 1500);
        // `idempotent` is lifeline's statement option, not in mysql2's QueryOptions type (as guarantees.test.ts).
        await pool.query({
          sql: `insert into ${table} (id, n) values (?, 1)`,
          values: ['idem'],
          idempotent: true,
        } as never);
        proxy.removeToxic('hold');
        await closedByProxy(proxy, second);
        // Declared idempotent: the caller accepted that it may run twice (the held copy, then the retry).
        assert.ok((await countRows(table, 'idem')) >= 1);
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });
});
