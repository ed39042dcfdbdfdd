import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { planHosts } from '../../../src/adapters/pg/hosts.js';
import { PgConfigError, PgNoHostError, Pool } from '../../../src/adapters/pg/index.js';
import { PgCluster } from '../../support/pg-cluster.js';
import { requireCapability, requireService, services } from '../../support/services.js';

describe('multi-host connection strings', () => {
  test('a URL with several host:port pairs becomes one config per host, in order', () => {
    const plan = planHosts({
      connectionString: 'postgres://u:secret@h1:5433,h2,[::1]:5435/db?target_session_attrs=read-write',
    });
    assert.equal(plan.targetSessionAttrs, 'read-write');
    assert.deepEqual(
      plan.hosts.map((h) => h.label),
      ['h1:5433', 'h2:5432', '::1:5435'],
    );
    assert.equal(
      plan.hosts[1]?.config.connectionString,
      'postgres://u:secret@h2/db?target_session_attrs=read-write',
    );
  });

  test("a password with an unescaped '@' stays in the user info, as pg parses it", () => {
    const plan = planHosts({ connectionString: 'postgres://u:p@ss@h1:5433,h2/db' });
    assert.deepEqual(
      plan.hosts.map((h) => [h.label, h.host, h.port]),
      [
        ['h1:5433', 'h1', 5433],
        ['h2:5432', 'h2', 5432],
      ],
    );
    assert.equal(plan.hosts[1]?.config.connectionString, 'postgres://u:p@ss@h2/db');
  });

  test("libpq's keyword/value form, which pg cannot parse, is understood", () => {
    const plan = planHosts({
      connectionString:
        "host=a,b port=5432,5433 dbname=app user=me password='x y' target_session_attrs=primary",
    });
    assert.equal(plan.targetSessionAttrs, 'primary');
    assert.deepEqual(
      plan.hosts.map((h) => [h.host, h.port, h.config.database, h.config.user, h.config.password]),
      [
        ['a', 5432, 'app', 'me', 'x y'],
        ['b', 5433, 'app', 'me', 'x y'],
      ],
    );
  });

  test('a host list in the config object, with one port for all', () => {
    const plan = planHosts({ host: 'a, b', port: 6000 });
    assert.deepEqual(
      plan.hosts.map((h) => h.label),
      ['a:6000', 'b:6000'],
    );
    assert.equal(planHosts({ host: 'only' }).hosts.length, 1);
  });

  test('bad input is refused with a message that never shows the password', () => {
    assert.throws(
      () => planHosts({ connectionString: 'host=a password=hunter2 bogus=1' }),
      (e: Error) => e instanceof PgConfigError && /bogus/.test(e.message) && !e.message.includes('hunter2'),
    );
    assert.throws(() => planHosts({ host: 'a,b', port: '1,2,3' as unknown as number }), PgConfigError);
    assert.throws(
      () => planHosts({ connectionString: 'postgres://u:hunter2@a,b/db?target_session_attrs=nope' }),
      (e: Error) => /target_session_attrs/.test(e.message) && !e.message.includes('hunter2'),
    );
  });
});

/** A port on which nothing listens: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('failover across hosts', () => {
  test('a dead first host is skipped; queries go to the next one', { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const dead = await closedPort();
    const { host, port, user, database } = services.postgres;
    const pool = new Pool({
      connectionString: `postgres://${user}@127.0.0.1:${dead},${host}:${port}/${database}`,
    });
    try {
      const { rows } = await pool.query('select inet_server_port() as port');
      assert.equal(rows[0].port, port);
    } finally {
      await pool.end();
    }
  });

  test('no host matching target_session_attrs: PgNoHostError names the hosts tried', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const { host, port, user, database } = services.postgres;
    const pool = new Pool({
      connectionString: `postgres://${user}@${host}:${port}/${database}?target_session_attrs=standby`,
      connectionTimeoutMillis: 2000,
    });
    try {
      await assert.rejects(pool.query('select 1'), (e: Error) => {
        const cause = (e as { cause?: unknown }).cause;
        assert.ok(cause instanceof PgNoHostError, String(e));
        assert.match(cause.message, new RegExp(`${host}:${port}`));
        return true;
      });
    } finally {
      await pool.end();
    }
  });

  describe('a server restart under a running pool', () => {
    let server: PgCluster | undefined;
    after(() => server?.destroy());

    test('queries issued while the server is down wait for it and succeed; the terminated clients never surface', {
      timeout: 120_000,
    }, async (t) => {
      if (!requireCapability(t, PgCluster.unsupported())) return;
      server = await PgCluster.start();
      const pool = new Pool({ connectionString: server.url, max: 4 });
      try {
        await Promise.all(Array.from({ length: 4 }, () => pool.query('select 1')));
        const before = (await pool.query('select pg_postmaster_start_time()::text as t')).rows[0].t;
        server.stop('fast');
        // Refused while down: the pool backs off between connect attempts and the callers wait.
        const restarted = new Promise<void>((resolve) =>
          setTimeout(() => {
            server?.start();
            resolve();
          }, 300),
        );
        const results = await Promise.all(
          Array.from({ length: 8 }, () => pool.query('select pg_postmaster_start_time()::text as t')),
        );
        await restarted;
        for (const r of results) assert.notEqual(String(r.rows[0].t), String(before));
      } finally {
        await pool.end();
      }
    });
  });

  describe('with a primary and a streaming standby', () => {
    let primary: PgCluster | undefined;
    let standby: PgCluster | undefined;
    after(() => {
      standby?.destroy();
      primary?.destroy();
    });

    test('target_session_attrs picks the right server; losing the primary fails over', {
      timeout: 120_000,
    }, async (t) => {
      if (!requireCapability(t, PgCluster.unsupported())) return;
      primary = await PgCluster.start();
      standby = await PgCluster.start({ standbyOf: primary });
      const hosts = `127.0.0.1:${standby.port},127.0.0.1:${primary.port}`;
      const url = (attrs: string) => `postgres://postgres@${hosts}/test?target_session_attrs=${attrs}`;

      const writer = new Pool({
        connectionString: url('read-write'),
        max: 2,
        lifeline: { idempotent: true },
      });
      const reader = new Pool({ connectionString: url('standby'), max: 2 });
      const any = new Pool({ connectionString: url('any'), max: 2 });
      try {
        assert.equal((await writer.query('select inet_server_port() as p')).rows[0].p, primary.port);
        assert.equal((await reader.query('select inet_server_port() as p')).rows[0].p, standby.port);
        assert.equal((await any.query('select inet_server_port() as p')).rows[0].p, standby.port);
        assert.equal((await writer.query('select pg_is_in_recovery() as r')).rows[0].r, false);

        // The primary dies; the standby is promoted. The writer's idle clients die with it and leave;
        // its next query lands on the new primary.
        // A crash: the idle connection's FIN may still be on its way when the next query is written, so
        // that query's outcome is unknown to the client. These reads are declared idempotent, which is
        // what lets lifeline run them again on the new primary.
        primary.stop('immediate');
        standby.promote();
        assert.equal((await writer.query('select inet_server_port() as p')).rows[0].p, standby.port);
        assert.equal((await writer.query('select pg_is_in_recovery() as r')).rows[0].r, false);
      } finally {
        await Promise.all([writer.end(), reader.end(), any.end()]);
      }
    });
  });
});
