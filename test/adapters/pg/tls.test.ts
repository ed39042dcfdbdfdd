/**
 * lifeline-net/pg with `ssl`: a private PostgreSQL with ssl=on and a self-signed certificate, reached directly
 * and through the fault proxy (which forwards bytes, so TLS passes through it). pg upgrades its socket to
 * TLS after the SSLRequest; liveness must follow it onto the TLS socket (LiveSocket.upgradedTo).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import tls from 'node:tls';
import type pg from 'pg';
import { type LifelinePoolConfig, liveSocketOf, Pool } from '../../../src/adapters/pg/index.js';
import { FaultProxy } from '../../../src/faults/index.js';
import { LiveSocket } from '../../../src/socket/index.js';
import { PgCluster } from '../../support/pg-cluster.js';
import { requireCapability } from '../../support/services.js';
import {
  CHECKED_OUT_DEATH,
  checkedOutDeathIsAQueryError,
  stalledWriteKillsTheConnection,
  WRITE_STALL,
} from './behaviours.js';

const T = { timeout: 60_000 };

describe('lifeline-net/pg over TLS', () => {
  const unsupported = PgCluster.unsupported();
  let cluster: PgCluster | undefined;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    if (unsupported === undefined) cluster = await PgCluster.start({ ssl: true });
  });
  after(() => {
    process.off('uncaughtException', onUncaught);
    cluster?.destroy();
  });

  /** A pool over TLS to the cluster, directly or through a fault proxy; ended after `body`, with no uncaught error. */
  async function withTlsPool(
    t: TestContext,
    config: LifelinePoolConfig,
    body: (pool: Pool, server: PgCluster, proxy: FaultProxy | undefined) => Promise<void>,
    options: { proxied: boolean } = { proxied: false },
  ): Promise<void> {
    if (!requireCapability(t, unsupported) || cluster === undefined) return;
    const server = cluster;
    const proxy = options.proxied
      ? new FaultProxy({ listen: '127.0.0.1:0', upstream: `${server.host}:${server.port}`, seed: 1 })
      : undefined;
    const address = (await proxy?.start()) ?? { host: server.host, port: server.port };
    const pool = new Pool({
      ...address,
      user: 'postgres',
      database: 'test',
      ssl: { ca: server.certificate, servername: 'localhost' },
      ...config,
    });
    try {
      await body(pool, server, proxy);
    } finally {
      await pool.end();
      await proxy?.stop();
    }
    assert.deepEqual(uncaught, []);
  }

  const pidOf = async (client: pg.PoolClient): Promise<number> =>
    (await client.query('select pg_backend_pid() as pid')).rows[0].pid;

  test(
    'queries run over TLS, and liveness watches the TLS socket with keepalive and user timeout applied',
    T,
    (t) =>
      withTlsPool(
        t,
        {
          max: 2,
          lifeline: {
            keepaliveIdleMs: 7000,
            keepaliveIntervalMs: 2000,
            keepaliveCount: 4,
            userTimeoutMs: 9000,
          },
        },
        async (pool) => {
          const { rows } = await pool.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
          assert.deepEqual(rows, [{ ssl: true }]);
          const client = await pool.connect();
          try {
            const live = liveSocketOf(client);
            assert.ok(live?.socket instanceof tls.TLSSocket, 'LiveSocket watches the TLS socket pg uses');
            const tcp: unknown = Reflect.get(live.socket, '_parent');
            assert.ok(tcp instanceof net.Socket && LiveSocket.of(tcp) === live, 'the upgrade was followed');
            assert.equal(Object.hasOwn(tcp, 'push'), false, 'nothing of LiveSocket stays on the TCP socket');
            assert.equal(live.state, 'open');
            const caps = live.capabilities();
            assert.equal(caps.keepalive, 'native', caps.reasons.join('; '));
            assert.equal(caps.keepaliveIntervalMs, 2000);
            assert.equal(caps.keepaliveCount, 4);
            assert.equal(caps.userTimeout, 'native', caps.reasons.join('; '));
            assert.equal(caps.userTimeoutMs, 9000);
          } finally {
            client.release();
          }
        },
      ),
  );

  test('an idle TLS client whose backend is terminated is never handed out', T, (t) =>
    withTlsPool(t, { max: 1 }, async (pool, server) => {
      const first = await pool.connect();
      const pid = await pidOf(first);
      first.release();
      const removed = new Promise((resolve) => pool.once('remove', resolve));
      server.psql(`select pg_terminate_backend(${pid})`);
      await removed;
      const next = await pool.connect();
      try {
        assert.notEqual(next, first);
        assert.notEqual(await pidOf(next), pid);
      } finally {
        next.release();
      }
    }),
  );

  for (const [mode, cause] of [
    ['fin', 'peer-fin'],
    ['reset', 'reset'],
  ] as const) {
    test(`idle TLS clients closed by the peer (${mode}) leave at once, dead of ${cause}`, T, (t) =>
      withTlsPool(
        t,
        { max: 2 },
        async (pool, _server, proxy) => {
          const clients = await Promise.all([pool.connect(), pool.connect()]);
          for (const c of clients) c.release();
          let removed = 0;
          const gone = new Promise<void>((resolve) =>
            pool.on('remove', () => {
              if (++removed === clients.length) resolve();
            }),
          );
          proxy?.closeAll(mode);
          await gone;
          for (const c of clients) assert.equal(liveSocketOf(c)?.death?.cause, cause);
          const next = await pool.connect();
          try {
            assert.ok(!clients.includes(next), 'a client whose connection was closed was handed out');
            assert.equal((await next.query('select 1 as n')).rows[0].n, 1);
          } finally {
            next.release();
          }
        },
        { proxied: true },
      ),
    );
  }

  test("a checked-out TLS client's death is an error on its query, never an uncaught 'error' event", T, (t) =>
    withTlsPool(t, CHECKED_OUT_DEATH, (pool, _server, proxy) => checkedOutDeathIsAQueryError(pool, proxy!), {
      proxied: true,
    }),
  );

  test('a TLS server that stops reading: the stalled write kills the connection', T, (t) =>
    withTlsPool(t, WRITE_STALL, (pool, _server, proxy) => stalledWriteKillsTheConnection(pool, proxy!), {
      proxied: true,
    }),
  );
});
