/**
 * The adapter's core behaviours as one suite, run against any endpoint that speaks Postgres: the server
 * directly (core.test.ts) and PgBouncer in session and transaction pooling mode (pgbouncer.test.ts).
 * Everything here is allowed in PgBouncer's transaction mode: no session state is relied on across
 * statements outside a transaction, no named prepared statements, no LISTEN, no advisory locks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DeadlineExceededError, Pool } from '../../../src/adapters/pg/index.js';
import { services } from '../../support/services.js';

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  database: string;
}

type PoolLike = Pick<pg.Pool, 'query' | 'connect' | 'end'>;

/** A direct connection to the real server, for setup and inspection that must bypass any pooler. */
export function admin(): pg.Client {
  const { host, port, user, database } = services.postgres;
  return new pg.Client({ host, port, user, database });
}

/** Code written for pg.Pool, run as is against both pools: the drop-in claim in one function. */
async function plainPgCode(pool: PoolLike, table: string): Promise<number[]> {
  const out: number[] = [];
  const a = await pool.query('select 1::int as n');
  out.push(a.rows[0].n);
  const b = await pool.query('select $1::int as n', [2]);
  out.push(b.rows[0].n);
  const c = await pool.query({ text: 'select $1::int as n', values: [3] });
  out.push(c.rows[0].n);
  const d = await pool.query({ text: 'select 4::int as n', rowMode: 'array' });
  out.push(d.rows[0]?.[0]);
  out.push(
    await new Promise<number>((resolve, reject) =>
      pool.query('select 5::int as n', (err: Error | undefined, r: pg.QueryResult) =>
        err ? reject(err) : resolve(r.rows[0].n),
      ),
    ),
  );
  out.push(
    await new Promise<number>((resolve, reject) =>
      pool.query('select $1::int as n', [6], (err: Error | undefined, r: pg.QueryResult) =>
        err ? reject(err) : resolve(r.rows[0].n),
      ),
    ),
  );
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`insert into ${table} (id, n) values ($1, 7)`, [randomUUID()]);
    const e = await client.query(`select count(*)::int as n from ${table} where n = 7`);
    out.push(e.rows[0].n >= 1 ? 7 : -1);
    await client.query('rollback');
  } finally {
    client.release();
  }
  const cbClient = await new Promise<pg.PoolClient>((resolve, reject) =>
    (
      pool.connect as (
        cb: (e: Error | undefined, c: pg.PoolClient | undefined, done: () => void) => void,
      ) => void
    )((err, c) => (err || !c ? reject(err) : resolve(c))),
  );
  out.push((await cbClient.query('select 8::int as n')).rows[0].n);
  cbClient.release();
  try {
    await pool.query('select * from lifeline_no_such_table');
    out.push(-1);
  } catch (error) {
    out.push((error as { code?: string }).code === '42P01' ? 9 : -1);
  }
  return out;
}

export function coreSuite(name: string, endpoint: () => Endpoint): void {
  describe(name, () => {
    const table = `lifeline_core_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    const config = () => ({ ...endpoint(), max: 4 });

    before(async () => {
      const c = admin();
      await c.connect();
      await c.query(`create table ${table} (id text primary key, n int not null)`);
      await c.end();
    });
    after(async () => {
      const c = admin();
      await c.connect();
      await c.query(`drop table if exists ${table}`);
      await c.end();
    });

    test('code written for pg.Pool gives the same results on lifeline-net/pg', {
      timeout: 30_000,
    }, async () => {
      const reference = new pg.Pool(config());
      const ours = new Pool(config());
      try {
        const expected = await plainPgCode(reference, table);
        assert.deepEqual(expected, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(await plainPgCode(ours as unknown as PoolLike, table), expected);
      } finally {
        await reference.end();
        await ours.end();
      }
    });

    test('events and counts follow pg.Pool', { timeout: 30_000 }, async () => {
      const pool = new Pool(config());
      const events: string[] = [];
      for (const e of ['connect', 'acquire', 'release', 'remove'] as const) pool.on(e, () => events.push(e));
      try {
        const client = await pool.connect();
        assert.equal(pool.totalCount, 1);
        assert.equal(pool.idleCount, 0);
        client.release();
        assert.equal(pool.idleCount, 1);
        assert.throws(() => client.release(), /already been released/);
        const again = await pool.connect();
        assert.equal(again, client, 'the idle client is reused');
        again.release(new Error('broken, throw it away'));
        await new Promise((r) => setImmediate(r));
        assert.equal(pool.totalCount, 0);
        assert.deepEqual(events, ['connect', 'acquire', 'release', 'acquire', 'release', 'remove']);
        await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query('select $1::int', [i])));
        assert.ok(pool.totalCount <= 4);
        assert.equal(pool.waitingCount, 0);
      } finally {
        await pool.end();
      }
      assert.equal(pool.ended, true);
      await assert.rejects(pool.end(), /more than once/);
      await assert.rejects(pool.connect(), /after calling end/);
    });

    test('maxUses retires a client after that many checkouts', { timeout: 30_000 }, async () => {
      const pool = new Pool({ ...config(), max: 1, maxUses: 3 });
      let removed = 0;
      pool.on('remove', () => removed++);
      try {
        for (let i = 0; i < 6; i++) await pool.query('select 1');
        await new Promise((r) => setImmediate(r));
        assert.equal(removed, 2);
      } finally {
        await pool.end();
      }
    });

    test('a server error passes through unchanged and the client stays', { timeout: 30_000 }, async () => {
      const pool = new Pool({ ...config(), max: 1 });
      let removed = 0;
      pool.on('remove', () => removed++);
      try {
        await assert.rejects(pool.query('select 1/0'), (e: Error & { code?: string }) => {
          assert.ok(e instanceof pg.DatabaseError);
          assert.equal(e.code, '22012');
          return true;
        });
        assert.equal((await pool.query('select 2 as n')).rows[0].n, 2);
        assert.equal(removed, 0);
      } finally {
        await pool.end();
      }
    });

    test('a query pg refuses to build rejects and gives its client back', { timeout: 30_000 }, async () => {
      const pool = new Pool({ ...config(), max: 1 });
      try {
        await assert.rejects(pool.query(undefined as unknown as string), /null or undefined query/);
        // The pool's only client is not held by the failed call.
        assert.equal((await pool.query('select 2 as n')).rows[0].n, 2);
      } finally {
        await pool.end();
      }
    });

    test('Kysely with PostgresDialect runs unchanged, transactions included', {
      timeout: 30_000,
    }, async () => {
      interface DB {
        [key: string]: { id: string; n: number };
      }
      const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new Pool(config()) }) });
      try {
        const id = randomUUID();
        await db.insertInto(table).values({ id, n: 1 }).execute();
        await db.transaction().execute(async (trx) => {
          await trx.updateTable(table).set({ n: 2 }).where('id', '=', id).execute();
        });
        await assert.rejects(
          db.transaction().execute(async (trx) => {
            await trx.updateTable(table).set({ n: 3 }).where('id', '=', id).execute();
            throw new Error('roll it back');
          }),
          /roll it back/,
        );
        const row = await db.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(row.n, 2);
      } finally {
        await db.destroy();
      }
    });

    test('Drizzle node-postgres runs unchanged, transactions included', { timeout: 30_000 }, async () => {
      const pool = new Pool(config());
      const db = drizzle(pool as unknown as pg.Pool);
      try {
        const id = randomUUID();
        await db.execute(sql`insert into ${sql.identifier(table)} (id, n) values (${id}, 1)`);
        await db.transaction(async (tx) => {
          await tx.execute(sql`update ${sql.identifier(table)} set n = 5 where id = ${id}`);
        });
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.execute(sql`update ${sql.identifier(table)} set n = 6 where id = ${id}`);
            throw new Error('roll it back');
          }),
          /roll it back/,
        );
        const res = await db.execute<{ n: number }>(
          sql`select n from ${sql.identifier(table)} where id = ${id}`,
        );
        assert.equal(res.rows[0]?.n, 5);
      } finally {
        await pool.end();
      }
    });

    test('a query past its deadline is cancelled on the server with a CancelRequest', {
      timeout: 30_000,
    }, async () => {
      const pool = new Pool({ ...config(), max: 1 });
      const tag = `lifeline_cancel_${randomUUID().replaceAll('-', '')}`;
      const watcher = admin();
      await watcher.connect();
      try {
        await assert.rejects(
          pool.query({ text: `select pg_sleep(60) as ${tag}`, deadlineMs: 300 } as pg.QueryConfig),
          DeadlineExceededError,
        );
        // The backend stops running the statement: poll pg_stat_activity until it is no longer active
        // (bounded by the test's timeout, not by a threshold).
        for (;;) {
          const { rows } = await watcher.query(
            "select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()",
            [`%${tag}%`],
          );
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        // The same connection serves the next query: the cancel hit the sleep, nothing else.
        assert.equal((await pool.query('select 3 as n')).rows[0].n, 3);
      } finally {
        await watcher.end();
        await pool.end();
      }
    });

    test('a checked-out client honours the pool deadline too, and is reusable once the cancel is in', {
      timeout: 30_000,
    }, async () => {
      const pool = new Pool({ ...config(), max: 1, lifeline: { queryDeadlineMs: 300 } });
      try {
        const client = await pool.connect();
        await assert.rejects(client.query('select pg_sleep(60)'), DeadlineExceededError);
        client.release();
        // The pool holds the client back until the server answered the cancel, then lends it again.
        const again = await pool.connect();
        try {
          assert.equal((await again.query('select 4 as n')).rows[0].n, 4);
        } finally {
          again.release();
        }
      } finally {
        await pool.end();
      }
    });

    test('release(err) after a deadline still throws the client away, as in pg', {
      timeout: 30_000,
    }, async () => {
      const pool = new Pool({ ...config(), max: 1, lifeline: { queryDeadlineMs: 300 } });
      let removed = 0;
      pool.on('remove', () => removed++);
      try {
        const client = await pool.connect();
        await assert.rejects(client.query('select pg_sleep(60)'), DeadlineExceededError);
        client.release(new Error('broken, throw it away'));
        const again = await pool.connect();
        try {
          assert.notEqual(again, client, 'the client released with an error was lent again');
          assert.equal(removed, 1);
          assert.equal((await again.query('select 5 as n')).rows[0].n, 5);
        } finally {
          again.release();
        }
      } finally {
        await pool.end();
      }
    });

    test('57P01 (pg_terminate_backend) retires the connection; the next query succeeds', {
      timeout: 30_000,
    }, async () => {
      const pool = new Pool({ ...config(), max: 1 });
      const watcher = admin();
      await watcher.connect();
      try {
        // In transaction mode the server backend is PgBouncer's, chosen per transaction; it still serves us.
        const { rows } = await pool.query('select pg_backend_pid() as pid');
        await watcher.query('select pg_terminate_backend($1)', [rows[0].pid]);
        for (let i = 0; i < 3; i++) assert.equal((await pool.query('select 1 as n')).rows[0].n, 1);
      } finally {
        await watcher.end();
        await pool.end();
      }
    });
  });
}
