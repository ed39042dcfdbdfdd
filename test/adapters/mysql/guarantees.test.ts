/**
 * lifeline-net/mysql's promises against the machine's MariaDB (through the fault proxy): a connection the
 * server closed while idle is never handed out, reads run read-only and are retried after a lost reply,
 * writes are not, a write taken for a read runs once read-write, deadlines end the query on the server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createPool,
  DeadlineExceededError,
  MysqlConnectError,
  OutcomeUnknownError,
} from '../../../src/adapters/mysql/promise.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { admin, direct, dropTable, freshTable, sleep, withProxy } from './support.js';

type PromisePool = ReturnType<typeof createPool>;

/**
 * Makes the server's next reply on the pool's only connection never arrive: the proxy resets it first.
 * `warm` runs before, so the session is already in the mode (read-only for a read, read-write for `do 1`)
 * the next statement needs, and that statement is the next thing sent.
 */
async function loseNextReply(pool: PromisePool, proxy: FaultProxy, warm: string): Promise<void> {
  await pool.query(warm);
  // The pool's one live connection is the newest (an older one may still be closing).
  const only = proxy
    .connections()
    .reduce<ReturnType<FaultProxy['connections']>[number] | undefined>(
      (a, b) => (a === undefined || b.id > a.id ? b : a),
      undefined,
    );
  assert.ok(only, 'the pool holds a connection through the proxy');
  proxy.addToxic({
    name: `reset-reply-${only.id}`,
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection: only.id, afterBytes: only.bytes.downstream },
  });
}

describe('lifeline-net/mysql guarantees', () => {
  test('server-side idle cut (wait_timeout = 1, idle 2 s): 0 errors after', {
    timeout: 30_000,
  }, async (t) => {
    // Straight to the server: an in-process proxy would need a loop turn of its own to pass the close on.
    await withProxy(t, async () => {
      const table = await freshTable();
      const pool = createPool({ ...direct, connectionLimit: 4 });
      try {
        const conns = await Promise.all(Array.from({ length: 4 }, () => pool.getConnection()));
        for (const c of conns) await c.query('SET SESSION wait_timeout = 1');
        for (const c of conns) c.release();
        // Idle 2 s: the server closes each session after 1 s. From 0.5 s on the event loop is blocked, so
        // the closes wait unread in the kernel when the queries come, as under a busy process: handing out
        // without a look at the socket gives dead connections.
        await sleep(500);
        const until = Date.now() + 1500;
        while (Date.now() < until) {}
        const failures: unknown[] = [];
        await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            (i % 2 === 0
              ? pool.query('select 1 as one')
              : pool.query(`insert into ${table} (id, n) values (?, 1)`, [`id-${i}`])
            ).catch((error: unknown) => failures.push(error)),
          ),
        );
        // A checked-out connection is the caller's (never retried): it must be alive when handed out.
        const c = await pool.getConnection();
        try {
          const [rows] = await c.query('select 2 as two');
          assert.deepEqual(rows, [{ two: 2 }]);
        } finally {
          c.release();
        }
        assert.deepEqual(failures, []);
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test('reads run in a read-only session; writes and lent connections read-write', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPool({ ...endpoint, connectionLimit: 1 });
      try {
        const [ro] = await pool.query('select @@session.tx_read_only as ro');
        assert.deepEqual(ro, [{ ro: 1 }]);
        await pool.query(`insert into ${table} (id, n) values ('a', 1)`);
        await pool.query('select 1');
        const c = await pool.getConnection();
        try {
          const [rw] = await c.query('select @@session.tx_read_only as ro');
          assert.deepEqual(rw, [{ ro: 0 }]);
        } finally {
          c.release();
        }
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test('a write that looks like a read (a writing function) is refused read-only and runs once read-write', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const table = await freshTable();
      const fn = `${table}_fn`;
      const c = await admin();
      await c.query(
        `create function ${fn}() returns int modifies sql data begin insert into ${table} (id, n) values ('f', 1); return 1; end`,
      );
      await c.end();
      const pool = createPool({ ...endpoint, connectionLimit: 1 });
      try {
        const [rows] = await pool.query(`select ${fn}() as r`);
        assert.deepEqual(rows, [{ r: 1 }]);
        const [count] = await pool.query(`select count(*) as k from ${table}`);
        assert.deepEqual(count, [{ k: 1 }]);
      } finally {
        await pool.end();
        const d = await admin();
        await d.query(`drop function if exists ${fn}`);
        await d.end();
        await dropTable(table);
      }
    });
  });

  test('a read whose reply was lost runs again; a write is OutcomeUnknownError; a declared one is retried', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const table = await freshTable();
      const pool = createPool({ ...endpoint, connectionLimit: 1 });
      try {
        await loseNextReply(pool, proxy, 'select 1');
        const [rows] = await pool.query('select 7 as seven');
        assert.deepEqual(rows, [{ seven: 7 }]);
        proxy.resetToxics();

        await loseNextReply(pool, proxy, 'do 1');
        await assert.rejects(pool.query(`insert into ${table} (id, n) values ('w', 1)`), OutcomeUnknownError);
        proxy.resetToxics();

        await pool.query(`insert into ${table} (id, n) values ('u', 1)`);
        await loseNextReply(pool, proxy, 'do 1');
        await pool.query({ sql: `update ${table} set n = 5 where id = 'u'`, idempotent: true } as never);
        const [u] = await pool.query(`select n from ${table} where id = 'u'`);
        assert.deepEqual(u, [{ n: 5 }]);
      } finally {
        await pool.end();
        await dropTable(table);
      }
    });
  });

  test('a query deadline ends the query on the server (KILL QUERY), not only the callback', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const pool = createPool({ ...endpoint, connectionLimit: 1 });
      const marker = `lifeline_deadline_${process.pid}`;
      try {
        await assert.rejects(
          pool.query({ sql: `select sleep(60) as ${marker}`, timeout: 200 }),
          DeadlineExceededError,
        );
        const c = await admin();
        try {
          let running = 1;
          // Bounded: 100 looks, 100 ms apart. Without KILL QUERY the statement runs for 60 s.
          for (let i = 0; i < 100 && running > 0; i++) {
            const [rows] = (await c.query(
              'select count(*) as k from information_schema.processlist where info like ? and command = ? and id <> connection_id()',
              [`%${marker}%`, 'Query'],
            )) as unknown as [Array<{ k: number }>];
            running = Number(rows[0]?.k ?? 0);
            if (running > 0) await sleep(100);
          }
          assert.equal(running, 0, 'the statement still runs on the server');
        } finally {
          await c.end();
        }
        // The connection is usable again once the killed statement answered.
        const [rows] = await pool.query('select 1 as one');
        assert.deepEqual(rows, [{ one: 1 }]);
      } finally {
        await pool.end();
      }
    });
  });

  test('typed errors: bad options at createPool, a refused login without the password in any message', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      assert.throws(() => createPool({ ...endpoint, lifeline: { maxRetries: -1 } }), InvalidOptionError);
      assert.throws(() => createPool({ ...endpoint, lifeline: { nosuch: 1 } as never }), InvalidOptionError);
      const secret = 'not-the-password-42';
      const pool = createPool({
        ...endpoint,
        user: 'lifeline_nosuch_user',
        password: secret,
        connectionLimit: 1,
      });
      try {
        const error = await pool.query('select 1').then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof MysqlConnectError, String(error));
        assert.equal(error.code, 'LIFELINE_MYSQL_CONNECT');
        for (let e: unknown = error; e instanceof Error; e = e.cause) assert.ok(!e.message.includes(secret));
      } finally {
        await pool.end();
      }
    });
  });
});
