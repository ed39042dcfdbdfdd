/**
 * lifeline-net/mysql: every failure a pool.query/pool.execute caller meets is typed, in the two ways the
 * 30-minute soak saw a raw mysql2 error get through (real MariaDB behind the fault proxy):
 * - a statement answered just before its deadline's KILL QUERY reached the server: the connection went back
 *   at once and the KILL ended the next caller's statement (ER_QUERY_INTERRUPTED);
 * - a connection lost under a statement once the retries ran out: mysql2's PROTOCOL_CONNECTION_LOST.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool } from '../../../src/adapters/mysql/promise.js';
import { sleep, withProxy } from './support.js';

const codeOf = (error: unknown): unknown => (error as { code?: unknown }).code;

describe('lifeline-net/mysql: typed errors at the pool caller', () => {
  test('a deadline KILL that lands after the answer does not end the next statement on the connection', async (t) => {
    await withProxy(t, async (proxy, endpoint) => {
      const pool = createPool({ ...endpoint, connectionLimit: 1, lifeline: { verifyAfterMs: 60_000 } });
      try {
        await pool.query('select 1');
        const first = Math.max(...proxy.connections().map((c) => c.id));
        // The next connection the proxy accepts is the KILL's side connection: its replies (the handshake
        // too) come 400 ms late, so the KILL reaches the server after the first statement has answered.
        proxy.addToxic({
          name: 'slow-side',
          type: 'latency',
          stream: 'downstream',
          attributes: { latency: 400 },
          target: { connection: first + 1 },
        });
        const killed = pool.query({ sql: 'select sleep(0.5) as a', timeout: 200 } as never);
        const next = pool.query({ sql: 'select sleep(2) as b', timeout: 60_000 } as never);
        await assert.rejects(killed, (error) => codeOf(error) === 'LIFELINE_DEADLINE_EXCEEDED');
        const [rows] = await next;
        assert.deepEqual(rows, [{ b: 0 }]);
      } finally {
        await pool.end();
      }
    });
  });

  for (const queryDeadlineMs of [undefined, 60_000]) {
    const path = queryDeadlineMs === undefined ? 'callback first attempt' : 'exec';
    test(`a read lost with no retry left ends in MysqlConnectionLostError (${path})`, async (t) => {
      await withProxy(t, async (proxy, endpoint) => {
        const pool = createPool({
          ...endpoint,
          connectionLimit: 1,
          lifeline: { maxRetries: 0, verifyAfterMs: 60_000, queryDeadlineMs },
        });
        try {
          await pool.query('select 1');
          const read = pool.query('select sleep(2) as s');
          read.catch(() => {});
          // The statement is on its way (written at once on the idle connection); then the server side closes.
          await sleep(200);
          proxy.closeAll('fin');
          await assert.rejects(read, (error) => {
            assert.equal(codeOf(error), 'LIFELINE_MYSQL_CONNECTION_LOST', String(error));
            return true;
          });
          // The pool goes on with a new connection.
          const [rows] = await pool.query('select 2 as n');
          assert.deepEqual(rows, [{ n: 2 }]);
        } finally {
          await pool.end();
        }
      });
    });
  }
});
