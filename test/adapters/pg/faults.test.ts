/**
 * lifeline-net/pg under injected faults: the fault proxy sits between the pool and the real server.
 * No timing thresholds: every test waits for an outcome and is bounded by its own timeout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import {
  type LifelinePoolConfig,
  liveSocketOf,
  OutcomeUnknownError,
  PgTransactionLostError,
  Pool,
} from '../../../src/adapters/pg/index.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { requireService, services } from '../../support/services.js';
import {
  CHECKED_OUT_DEATH,
  checkedOutDeathIsAQueryError,
  stalledWriteKillsTheConnection,
  WRITE_STALL,
} from './behaviours.js';
import { admin } from './core.js';
import { withProxy } from './proxy.js';

const table = `lifeline_faults_${process.pid}`;

/** Warms `n` connections by holding them all at once, then gives them back idle. */
async function warm(pool: Pool, n: number): Promise<pg.PoolClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const c of clients) c.release();
  return clients;
}

/** The proxy connection carrying `client`: the one whose bytes moved when it ran a query. */
async function connectionOf(proxy: FaultProxy, client: pg.PoolClient): Promise<number> {
  const before = new Map(proxy.connections().map((c) => [c.id, c.bytes.upstream]));
  await client.query('select 1');
  const moved = proxy.connections().find((c) => c.bytes.upstream !== before.get(c.id));
  assert.ok(moved, 'the client runs through the proxy');
  return moved.id;
}

/** Makes the server's next reply on the pool's only connection never arrive: the proxy resets it first. */
async function loseNextReply(pool: Pool, proxy: FaultProxy): Promise<void> {
  const client = await pool.connect();
  const connection = await connectionOf(proxy, client);
  client.release();
  const info = proxy.connections().find((c) => c.id === connection);
  assert.ok(info);
  proxy.addToxic({
    name: `reset-reply-${connection}`,
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection, afterBytes: info.bytes.downstream },
  });
}

describe('lifeline-net/pg through the fault proxy', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    const c = admin();
    try {
      await c.connect();
    } catch {
      return; // reported by requireService in each test
    }
    await c.query(`create table if not exists ${table} (id text primary key, n int not null)`);
    await c.end();
  });
  after(async () => {
    process.off('uncaughtException', onUncaught);
    const c = admin();
    try {
      await c.connect();
      await c.query(`drop table if exists ${table}`);
      await c.end();
    } catch {
      // Nothing to clean up.
    }
  });

  /**
   * A test with a lifeline-net/pg Pool (`poolConfig`) behind its own fault proxy to the shared server. The pool
   * is ended afterwards, and no 'error' event may have escaped as an uncaught exception.
   */
  function proxyTest(
    name: string,
    poolConfig: LifelinePoolConfig,
    body: (pool: Pool, proxy: FaultProxy) => Promise<void>,
  ): void {
    test(name, { timeout: 30_000 }, async (t) => {
      if (!(await requireService(t, 'postgres'))) return;
      await withProxy(async (proxy, config) => {
        const pool = new Pool({ ...config, ...poolConfig });
        try {
          await body(pool, proxy);
        } finally {
          await pool.end();
        }
      });
      assert.deepEqual(uncaught, []);
    });
  }

  for (const mode of ['fin', 'reset'] as const) {
    proxyTest(
      `idle clients closed by the peer (${mode}) are never handed out`,
      { max: 4, lifeline: { validateAfterIdleMs: 0 } },
      async (pool, proxy) => {
        let removed = 0;
        pool.on('remove', () => removed++);
        const dead = await warm(pool, 4);
        proxy.closeAll(mode);
        // The proxy lives in this process: its FIN/RST leaves once the event loop runs. Wait for that,
        // then block the loop so the pool's sockets have not read it when the clients are asked for.
        while (proxy.connections().length > 0) await new Promise((r) => setImmediate(r));
        const until = Date.now() + 20;
        while (Date.now() < until) {}
        const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
        try {
          for (const c of clients) {
            assert.ok(!dead.includes(c), 'a client whose connection was closed was handed out');
            // A checked-out client is never retried by lifeline: success proves it was alive.
            assert.equal((await c.query('select 1 as n')).rows[0].n, 1);
          }
        } finally {
          for (const c of clients) c.release();
        }
        assert.equal(removed, 4);
      },
    );
  }

  proxyTest(
    'idle clients that die leave the pool at once, with no uncaught error event',
    { max: 3 },
    async (pool, proxy) => {
      const errors: Error[] = [];
      // pg.Pool's contract: an idle client's death is an 'error' event on the pool, for those who listen.
      pool.on('error', (error: Error) => errors.push(error));
      await warm(pool, 3);
      assert.equal(pool.idleCount, 3);
      const gone = new Promise<void>((resolve) => {
        let n = 0;
        pool.on('remove', () => {
          if (++n === 3) resolve();
        });
      });
      proxy.closeAll('reset');
      await gone;
      assert.equal(pool.totalCount, 0);
      assert.equal(errors.length, 3);
    },
  );

  proxyTest(
    "a checked-out client's death is an error on its query, never an uncaught 'error' event",
    CHECKED_OUT_DEATH,
    checkedOutDeathIsAQueryError,
  );

  proxyTest('pool.query retries transparently when the query was not sent', { max: 2 }, async (pool) => {
    await warm(pool, 1);
    let killed = 0;
    // The connection dies between handout and write: nothing of the statement can reach the server.
    pool.on('acquire', (client: pg.PoolClient) => {
      if (killed++ === 0)
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    });
    const id = randomUUID();
    await pool.query(`insert into ${table} (id, n) values ($1, 1)`, [id]);
    assert.equal(killed, 2, 'one failed handout, one retry');
    const c = admin();
    await c.connect();
    const { rows } = await c.query(`select n from ${table} where id = $1`, [id]);
    await c.end();
    assert.deepEqual(rows, [{ n: 1 }]);
  });

  proxyTest(
    'a sent statement whose reply is lost is not retried: OutcomeUnknownError, applied once',
    { max: 1 },
    async (pool, proxy) => {
      const id = randomUUID();
      await pool.query(`insert into ${table} (id, n) values ($1, 0)`, [id]);
      await loseNextReply(pool, proxy);
      await assert.rejects(
        pool.query(`update ${table} set n = n + 1 where id = $1`, [id]),
        OutcomeUnknownError,
      );
      // The server executed it once; lifeline did not run it again.
      assert.equal((await pool.query(`select n from ${table} where id = $1`, [id])).rows[0].n, 1);
    },
  );

  proxyTest(
    'the same loss with { idempotent: true } is retried and succeeds; the row shows one application',
    { max: 1 },
    async (pool, proxy) => {
      const id = randomUUID();
      await loseNextReply(pool, proxy);
      // An upsert keyed by a request id: running it twice applies it once.
      const result = await pool.query({
        text: `insert into ${table} (id, n) values ($1, 1) on conflict (id) do nothing`,
        values: [id],
        idempotent: true,
      } as pg.QueryConfig);
      assert.equal(result.command, 'INSERT');
      assert.equal((await pool.query(`select n from ${table} where id = $1`, [id])).rows[0].n, 1);
    },
  );

  proxyTest(
    'a transaction whose connection dies is never retried; the error says it was lost',
    { max: 1, lifeline: { idempotent: true } },
    async (pool, proxy) => {
      const id = randomUUID();
      const client = await pool.connect();
      await client.query('begin');
      await client.query(`insert into ${table} (id, n) values ($1, 1)`, [id]);
      proxy.closeAll('reset');
      await assert.rejects(client.query('commit'), (e: Error) => {
        assert.ok(e instanceof PgTransactionLostError);
        assert.match(e.message, /transaction was lost/);
        return true;
      });
      // What a framework does next (ROLLBACK) says the same, and release() throws the client away.
      await assert.rejects(client.query('rollback'), PgTransactionLostError);
      client.release();
      assert.equal(
        (await pool.query(`select count(*)::int as n from ${table} where id = $1`, [id])).rows[0].n,
        0,
      );
    },
  );

  test('a create abandoned at its timeout closes its client, even in onConnect', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const tag = `lifeline_oncreate_${randomUUID().replaceAll('-', '')}`;
    let hung: Promise<unknown> | undefined;
    const pool = new Pool({
      ...services.postgres,
      max: 1,
      // The create times out 1 s after connectTimeoutMs; the acquire outlasts it and gets the next create.
      lifeline: { connectTimeoutMs: 100, acquireTimeoutMs: 10_000 },
      onConnect: async (client: pg.ClientBase) => {
        if (hung !== undefined) return;
        hung = client.query(`select pg_sleep(3600) as ${tag}`);
        await hung;
      },
    });
    const watcher = admin();
    await watcher.connect();
    try {
      const client = await pool.connect();
      client.release();
      // The first create's client was closed when its create was abandoned, so its query ended.
      await assert.rejects(hung as Promise<unknown>);
    } finally {
      await pool.end();
      await watcher.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()',
        [`%${tag}%`],
      );
      await watcher.end();
    }
  });

  test('keepalive and TCP_USER_TIMEOUT take effect on every connection', { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const pool = new Pool({
      ...services.postgres,
      max: 1,
      lifeline: { keepaliveIdleMs: 7000, keepaliveIntervalMs: 2000, keepaliveCount: 4, userTimeoutMs: 9000 },
    });
    try {
      const client = await pool.connect();
      const caps = liveSocketOf(client)?.capabilities();
      client.release();
      assert.ok(caps);
      assert.equal(caps.keepalive, 'native', caps.reasons.join('; '));
      assert.equal(caps.keepaliveIdleMs, 7000);
      assert.equal(caps.keepaliveIntervalMs, 2000);
      assert.equal(caps.keepaliveCount, 4);
      assert.equal(caps.userTimeout, 'native', caps.reasons.join('; '));
      assert.equal(caps.userTimeoutMs, 9000);
    } finally {
      await pool.end();
    }
  });

  proxyTest(
    'a server that stops reading: the stalled write kills the connection instead of hanging',
    WRITE_STALL,
    stalledWriteKillsTheConnection,
  );
});
