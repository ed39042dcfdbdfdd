// The pool over real loopback sockets: a connection the server closed (FIN) or reset (RST) is never lent
// out, even when the close reached the kernel while the event loop was blocked.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AcquireTimeoutError, Pool } from '../../src/pool/index.js';
import { ConnectFailedError, type LiveSocket } from '../../src/socket/index.js';
import {
  blockEventLoop,
  closedPort,
  type SocketFactoryOptions,
  socketFactory,
  startServer,
  type TestServer,
} from './support.js';

const T = { timeout: 15_000 };

type Kill = 'fin' | 'rst';

/** Closes the server's side of its `index`-th connection. Both leave at once (close(2)/RST, no turn). */
function kill(server: TestServer, index: number, how: Kill): void {
  const socket = server.accepted[index];
  assert.ok(socket, `server has no connection #${index}`);
  if (how === 'fin') socket.destroy();
  else socket.resetAndDestroy();
}

async function withPool(
  factoryOptions: SocketFactoryOptions,
  poolOptions: { validateAfterIdleMs?: number; max?: number },
  body: (
    pool: Pool<LiveSocket>,
    server: TestServer,
    factory: ReturnType<typeof socketFactory>,
  ) => Promise<void>,
): Promise<void> {
  const server = await startServer();
  const factory = socketFactory(server.port, factoryOptions);
  const pool = new Pool({ factory, max: poolOptions.max ?? 1, ...poolOptions });
  try {
    await body(pool, server, factory);
  } finally {
    await pool.drain({ timeoutMs: 1000 });
    await server.close();
  }
}

for (const how of ['fin', 'rst'] as const) {
  const name = how === 'fin' ? 'FIN' : 'RST (resetAndDestroy)';

  test(
    `${name} on an idle connection: it leaves the pool at once (onDeath), without any acquire`,
    T,
    async () => {
      await withPool({}, {}, async (pool, server) => {
        const first = await pool.acquire();
        pool.release(first);
        const evicted = once(pool, 'evict');
        kill(server, 0, how);
        const [resource, reason] = await evicted;
        assert.equal(resource, first);
        assert.equal(reason, 'dead');
        assert.equal(pool.stats().idle, 0);
        const next = await pool.acquire();
        assert.notEqual(next, first);
        assert.ok(next.usable);
        assert.equal(server.accepted.length, 2);
        pool.release(next);
      });
    },
  );

  test(
    `${name} on an idle connection, no onDeath: the next acquire skips it (alive() false)`,
    T,
    async () => {
      await withPool({ onDeath: false }, {}, async (pool, server, factory) => {
        const first = await pool.acquire();
        pool.release(first);
        kill(server, 0, how);
        while (first.usable) await delay(1); // let the client's socket see it
        const next = await pool.acquire();
        assert.notEqual(next, first);
        assert.ok(next.usable);
        assert.deepEqual(factory.destroyed, [first]);
        assert.equal(pool.stats().evicted.dead, 1);
        pool.release(next);
      });
    },
  );

  test(
    `${name} arriving while the event loop is blocked just before acquire: still never lent`,
    T,
    async () => {
      await withPool({}, { validateAfterIdleMs: 20 }, async (pool, server, factory) => {
        const first = await pool.acquire();
        pool.release(first);
        await delay(5);
        kill(server, 0, how); // the FIN/RST leaves the server now
        blockEventLoop(60); // …and lands in the client's kernel while Node cannot process it
        assert.ok(first.usable, 'precondition: the client has not processed the close yet');
        const next = await pool.acquire(); // the one event-loop turn before handout reveals it
        assert.notEqual(next, first);
        assert.ok(next.usable);
        assert.equal(first.usable, false);
        assert.deepEqual(factory.destroyed, [first]);
        assert.equal(server.accepted.length, 2);
        pool.release(next);
      });
    },
  );

  test(
    `${name} while blocked, control: with the turn disabled the dead connection would be lent`,
    T,
    async () => {
      // Proves the previous test depends on the event-loop turn, not on luck.
      await withPool({}, { validateAfterIdleMs: Number.POSITIVE_INFINITY }, async (pool, server) => {
        const first = await pool.acquire();
        pool.release(first);
        await delay(5);
        kill(server, 0, how);
        blockEventLoop(60);
        const next = await pool.acquire();
        assert.equal(next, first);
        await delay(20);
        assert.equal(first.usable, false);
        pool.release(next); // released dead: destroyed, not kept
        assert.equal(pool.stats().total, 0);
      });
    },
  );
}

test('a busy connection that dies is destroyed on release, not returned to the idle list', T, async () => {
  await withPool({}, {}, async (pool, server, factory) => {
    const conn = await pool.acquire();
    const died = once(pool, 'death');
    kill(server, 0, 'fin');
    await died;
    pool.release(conn);
    assert.deepEqual(factory.destroyed, [conn]);
    assert.equal(pool.stats().total, 0);
  });
});

test(
  'a ping before handout replaces a connection whose ping fails; the caller gets a working one',
  T,
  async () => {
    let pings = 0;
    const ping = async (conn: LiveSocket): Promise<void> => {
      pings++;
      if (conn === firstConn) throw new Error('ping failed');
    };
    let firstConn: LiveSocket | undefined;
    await withPool({ ping }, { validateAfterIdleMs: 0 }, async (pool, server) => {
      firstConn = await pool.acquire();
      pool.release(firstConn);
      const next = await pool.acquire();
      assert.notEqual(next, firstConn);
      assert.equal(pings, 1); // the new connection is fresh: no ping needed
      assert.equal(server.accepted.length, 2);
      assert.equal(pool.stats().evicted['ping-failed'], 1);
      pool.release(next);
    });
  },
);

test('min is kept warm: the server sees min connections without any acquire', T, async () => {
  const server = await startServer();
  const pool = new Pool({ factory: socketFactory(server.port), min: 3, max: 5 });
  try {
    while (pool.stats().idle < 3) await once(pool, 'create');
    assert.equal(server.accepted.length, 3);
    assert.equal(pool.stats().total, 3);
    // One dies: min is restored.
    kill(server, 1, 'rst');
    await once(pool, 'evict');
    while (pool.stats().idle < 3) await once(pool, 'create');
    assert.equal(server.accepted.length, 4);
  } finally {
    await pool.drain();
    await server.close();
  }
});

test('idle resources above min are closed after idleTimeoutMs; min stay', T, async () => {
  const server = await startServer();
  const pool = new Pool({ factory: socketFactory(server.port), min: 1, max: 4, idleTimeoutMs: 50 });
  try {
    const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    for (const conn of held) pool.release(conn);
    const reasons: string[] = [];
    pool.on('evict', (_conn, reason) => reasons.push(reason));
    while (reasons.length < 2) await once(pool, 'evict');
    await delay(150); // a few more housekeeping runs: min is not evicted
    assert.deepEqual(reasons, ['idle-timeout', 'idle-timeout']);
    assert.equal(pool.stats().total, 1);
    assert.equal(pool.stats().idle, 1);
  } finally {
    await pool.drain();
    await server.close();
  }
});

test(
  'nothing listening: a bounded number of connect attempts while acquires wait, then a timeout that says why',
  T,
  async () => {
    const port = await closedPort();
    const factory = socketFactory(port);
    const pool = new Pool({
      factory,
      max: 10,
      createConcurrency: 2,
      createRetry: { baseDelayMs: 20, maxDelayMs: 200 },
      acquireTimeoutMs: 500,
    });
    try {
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => pool.acquire()));
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const error = (result as PromiseRejectedResult).reason;
        assert.ok(error instanceof AcquireTimeoutError);
        assert.match(
          error.message,
          // waiting counts this waiter and those whose deadline has not been processed yet (1–5)
          /total=0, busy=0, idle=0, waiting=[1-5], pendingCreates=\d, lastCreateError=.*ECONNREFUSED/,
        );
        assert.ok(error.cause instanceof ConnectFailedError);
        assert.match(error.cause.message, /ECONNREFUSED/);
      }
      // Without backoff each refusal (~0.1 ms on loopback) would be retried at once: thousands in 500 ms.
      // With full-jitter backoff capped at 200 ms and 2 at a time, far fewer than 60 is certain in practice
      // (more would need ~25 consecutive delays averaging under 20 ms out of U(0, 200)).
      assert.ok(factory.attempts >= 2, `attempts: ${factory.attempts}`);
      assert.ok(factory.attempts < 60, `attempts: ${factory.attempts}`);
      assert.ok(pool.stats().createErrors === factory.attempts);
    } finally {
      await pool.drain();
    }
  },
);

test(
  'a server that drops every connection: bounded attempts, waiters time out with its error',
  T,
  async () => {
    const server = await startServer((socket) => socket.destroy());
    const factory = socketFactory(server.port);
    const pool = new Pool({
      factory,
      createConcurrency: 2,
      createRetry: { baseDelayMs: 20, maxDelayMs: 200 },
      acquireTimeoutMs: 500,
    });
    try {
      const results = await Promise.allSettled([pool.acquire(), pool.acquire(), pool.acquire()]);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.match(
          String((result as PromiseRejectedResult).reason),
          /lastCreateError=server closed before greeting/,
        );
      }
      assert.ok(
        server.accepted.length >= 2 && server.accepted.length < 60,
        `connections: ${server.accepted.length}`,
      );
    } finally {
      await pool.drain();
      await server.close();
    }
  },
);

test('drain waits for a busy connection, then closes it and everything else', T, async () => {
  const server = await startServer();
  const factory = socketFactory(server.port);
  const pool = new Pool({ factory, min: 2, max: 3 });
  const busy = await pool.acquire();
  const order: string[] = [];
  const drained = pool.drain().then(() => order.push('drained'));
  await delay(30);
  order.push('released');
  pool.release(busy);
  await drained;
  assert.deepEqual(order, ['released', 'drained']);
  assert.equal(pool.stats().state, 'closed');
  assert.equal(pool.stats().total, 0);
  assert.ok(factory.destroyed.includes(busy));
  assert.equal(busy.socket.destroyed, true);
  await server.close();
});
