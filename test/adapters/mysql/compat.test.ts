/**
 * lifeline-net/mysql as a drop-in: mysql2's callback API (every query overload, getConnection, events, end),
 * the promise API, and Kysely's MysqlDialect and Drizzle's mysql2 driver unchanged, through the fault proxy
 * — including right after every connection was reset.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import { Kysely, MysqlDialect } from 'kysely';
import { createPool } from '../../../src/adapters/mysql/index.js';
import { createPool as createPromisePool } from '../../../src/adapters/mysql/promise.js';
import { dropTable, freshTable, withProxy } from './support.js';

type Pool = ReturnType<typeof createPool>;

function q(pool: Pool, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (pool.query as (...a: unknown[]) => void)(...args, (err: Error | null, rows: unknown) =>
      err ? reject(err) : resolve(rows),
    );
  });
}

describe('lifeline-net/mysql as mysql2', () => {
  test('callback API: query overloads, execute, getConnection, events, end', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const pool = createPool({ ...endpoint, connectionLimit: 2 });
      const events: string[] = [];
      for (const name of ['connection', 'acquire', 'release'])
        pool.on(name as 'acquire', () => events.push(name));
      assert.deepEqual(await q(pool, 'select 1 as a'), [{ a: 1 }]);
      assert.deepEqual(await q(pool, 'select ? as b', [2]), [{ b: 2 }]);
      assert.deepEqual(await q(pool, { sql: 'select ? as c', values: [3] }), [{ c: 3 }]);
      assert.deepEqual(await q(pool, { sql: 'select ? as d' }, [4]), [{ d: 4 }]);
      const executed = await new Promise((resolve, reject) =>
        pool.execute('select ? as e', [5], (err, rows) => (err ? reject(err) : resolve(rows))),
      );
      assert.deepEqual(executed, [{ e: 5 }]);
      const conn = await new Promise<Parameters<Parameters<Pool['getConnection']>[0]>[1]>((resolve, reject) =>
        pool.getConnection((err, c) => (err ? reject(err) : resolve(c))),
      );
      const rows = await new Promise((resolve, reject) =>
        conn.query('select connection_id() > 0 as ok', (err, r) => (err ? reject(err) : resolve(r))),
      );
      assert.deepEqual(rows, [{ ok: 1 }]);
      pool.releaseConnection(conn);
      assert.ok(events.includes('connection') && events.includes('acquire') && events.includes('release'));
      assert.equal(pool.escape("it's"), "'it\\'s'");
      assert.equal(pool.format('select ?', [1]), 'select 1');
      await new Promise<void>((resolve, reject) => pool.end((err) => (err ? reject(err) : resolve())));
      const closed = await q(pool, 'select 1').catch((e: Error & { code?: string }) => e.code);
      assert.equal(closed, 'LIFELINE_MYSQL_POOL_CLOSED');
    });
  });

  test('promise API: query, execute, a transaction on a lent connection', { timeout: 30_000 }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPromisePool({ ...endpoint, connectionLimit: 2 });
      try {
        const [rows] = await pool.execute('select ? as x', [1]);
        assert.deepEqual(rows, [{ x: 1 }]);
        const conn = await pool.getConnection();
        try {
          await conn.beginTransaction();
          await conn.query(`insert into ${table} (id, n) values ('t', 1)`);
          await conn.commit();
        } finally {
          conn.release();
        }
        const [stored] = await pool.query(`select id from ${table}`);
        assert.deepEqual(stored, [{ id: 't' }]);
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test("Kysely's MysqlDialect, before and after every connection is reset", {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const table = await freshTable();
      const db = new Kysely<Record<string, { id: string; n: number }>>({
        dialect: new MysqlDialect({ pool: createPool({ ...endpoint, connectionLimit: 3 }) }),
      });
      try {
        await db.insertInto(table).values({ id: 'k1', n: 1 }).execute();
        proxy.closeAll('reset');
        await new Promise((r) => setTimeout(r, 50));
        await db.transaction().execute(async (trx) => {
          await trx.insertInto(table).values({ id: 'k2', n: 2 }).execute();
        });
        const rows = await db.selectFrom(table).select(['id']).orderBy('id').execute();
        assert.deepEqual(rows, [{ id: 'k1' }, { id: 'k2' }]);
      } finally {
        await db.destroy();
        await dropTable(table);
      }
    });
  });

  test("Drizzle's mysql2 driver (callback and promise pools), before and after a reset", {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      for (const pool of [
        createPool({ ...endpoint, connectionLimit: 2 }),
        createPromisePool({ ...endpoint, connectionLimit: 2 }),
      ]) {
        const db = drizzle({ client: pool as never });
        const [first] = (await db.execute(sql`select 1 as one`)) as unknown as [unknown];
        assert.deepEqual(first, [{ one: 1 }]);
        proxy.closeAll('reset');
        await new Promise((r) => setTimeout(r, 50));
        const [second] = (await db.execute(sql`select 2 as two`)) as unknown as [unknown];
        assert.deepEqual(second, [{ two: 2 }]);
        await db.transaction(async (tx) => {
          await tx.execute(sql`select 3`);
        });
        await (pool as { end(): unknown }).end();
      }
    });
  });
});
