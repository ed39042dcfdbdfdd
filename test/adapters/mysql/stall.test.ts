/**
 * The paths that could leave callers waiting with no connection being made (issue 12: a stall seen once in
 * faults.test.ts, the pool at total=0 with callers waiting), made deterministic against the real MariaDB
 * through the fault proxy: creates failing while callers queue, a create whose handshake never comes, a
 * connection that fails to open (each must close what it opened: a retried create once left one server
 * connection behind per attempt), and a connection retired at release while a caller waits.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import mysql from 'mysql2';
import { openConnection, type RawConnection } from '../../../src/adapters/mysql/connection.js';
import { createPool } from '../../../src/adapters/mysql/promise.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { sleep, withProxy } from './support.js';

type Stats = { total: number; waiting: number; createErrors: number; evicted: Record<string, number> };
const statsOf = (pool: ReturnType<typeof createPool>) => (pool.pool as unknown as { stats(): Stats }).stats();

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

const openPeers = (sockets: net.Socket[]) => sockets.filter((s) => !s.destroyed).length;

/** Waits (bounded: 10 s) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`never happened: ${what}`);
}

describe('no caller is left waiting with no connection being made', () => {
  test('creates fail while callers queue: each caller is served once the server is back', {
    timeout: 60_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      proxy.disable();
      const pool = createPool({ ...endpoint, connectionLimit: 2, lifeline: { acquireTimeoutMs: 30_000 } });
      try {
        const answers = [pool.query('select 1 as one'), pool.query('select 2 as two')];
        await until(() => statsOf(pool).createErrors >= 2, 'two failed creates');
        const stuck = statsOf(pool);
        assert.equal(stuck.total, 0);
        assert.equal(stuck.waiting, 2);
        await proxy.enable();
        const [[one], [two]] = (await Promise.all(answers)) as unknown as [[unknown], [unknown]];
        assert.deepEqual([one, two], [[{ one: 1 }], [{ two: 2 }]]);
      } finally {
        await pool.end();
      }
    });
  });

  test('a create whose handshake never comes is abandoned at end() with its socket closed', {
    timeout: 30_000,
  }, async () => {
    // A peer that accepts, never greets and never closes (a middlebox that swallows everything).
    const accepted: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => {});
      accepted.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const before = tcpHandles();
    // connectTimeout 0: mysql2 waits for the greeting for good; only lifeline's abort ends the create.
    const pool = createPool({ host: '127.0.0.1', port, user: 'x', connectTimeout: 0, connectionLimit: 1 });
    const answer = pool.query('select 1').then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );
    await until(() => accepted.length === 1, 'the create dialled');
    await pool.end();
    assert.equal(await answer, 'LIFELINE_POOL_DRAINING');
    // The client socket is gone; what is left is the peer's side, which this test holds open on purpose.
    await until(() => tcpHandles() - openPeers(accepted) <= before, 'the client socket destroyed');
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  // Before the fix: the dialled socket stayed open (one more server connection per retried create) and its
  // later error, with no listener on the connection yet, was an uncaught exception.
  test('a connection that fails to open is closed (nothing left on the server side)', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const ConnectionConfig = (mysql as unknown as { ConnectionConfig: new (o: object) => object })
        .ConnectionConfig;
      const config = new ConnectionConfig({ ...endpoint });
      const Connection = mysql.Connection as unknown as new (o: { config: object }) => RawConnection;
      const opened = openConnection(
        (c) => new Connection({ config: c }),
        config,
        `${endpoint.host}:${endpoint.port}`,
        // Refused by LiveSocket after mysql2 has already dialled.
        { keepaliveIdleMs: -1 },
        new AbortController().signal,
      );
      await assert.rejects(opened, InvalidOptionError);
      await until(() => proxy.connections().length === 0, 'the dialled connection closed');
    });
  });

  test('a connection retired at release while a caller waits: a new one is made for the caller', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const pool = createPool({
        ...endpoint,
        connectionLimit: 1,
        lifeline: { maxLifetimeMs: 50, lifetimeJitter: 0 },
      });
      try {
        const held = await pool.getConnection();
        const waiting = pool.query('select 4 as four');
        await sleep(100); // past its lifetime
        await until(() => statsOf(pool).waiting === 1, 'the caller queued');
        held.release();
        const [rows] = (await waiting) as unknown as [unknown];
        assert.deepEqual(rows, [{ four: 4 }]);
        assert.ok((statsOf(pool).evicted.lifetime ?? 0) >= 1);
      } finally {
        await pool.end();
      }
    });
  });
  test('a statement mysql2 refuses before sending gives its connection back', {
    timeout: 30_000,
  }, async (t) => {
    await withProxy(t, async (_proxy, endpoint) => {
      const pool = createPool({ ...endpoint, connectionLimit: 1, lifeline: { acquireTimeoutMs: 5000 } });
      try {
        // mysql2 throws "Bind parameters must be array…" synchronously; its pool answers the callback with it.
        const refused = await pool.execute('select ? as n', 'not an array' as never).then(
          () => 'answered',
          (e: Error) => e.message,
        );
        assert.match(String(refused), /Bind parameters must be array/);
        // Before: the connection stayed lent for good, and this waited for the acquire timeout.
        const [rows] = (await pool.query('select 5 as five')) as unknown as [unknown];
        assert.deepEqual(rows, [{ five: 5 }]);
        assert.equal(statsOf(pool).total, 1);
      } finally {
        await pool.end();
      }
    });
  });
});
