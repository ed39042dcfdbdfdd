/**
 * mysql2 pool config parity: the same code runs on mysql2's own pool and on lifeline-net/mysql's, against the
 * real MariaDB, and what each does is compared — `waitForConnections: false` ("No connections available."),
 * `queueLimit` ("Queue limit reached."), pool.query's return value (mysql2's Query command: its events
 * in callback and event mode, `.stream()`), `maxIdle` and `idleTimeout` (which server sessions stay open),
 * and `resetOnRelease` (session state after a release).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import {
  createPool,
  MysqlNoConnectionsError,
  MysqlQueueLimitError,
} from '../../../src/adapters/mysql/index.js';
import { createPool as createPromisePool } from '../../../src/adapters/mysql/promise.js';
import { requireService } from '../../support/services.js';
import { admin, direct, sleep } from './support.js';

type CallbackPool = ReturnType<typeof mysql.createPool>;
type Lent = Parameters<Parameters<CallbackPool['getConnection']>[0]>[1];

const makers: Array<[string, (config: object) => CallbackPool]> = [
  ['mysql2', (config) => mysql.createPool({ ...direct, ...config })],
  ['lifeline', (config) => createPool({ ...direct, ...config }) as unknown as CallbackPool],
];

function lend(pool: CallbackPool): Promise<Lent> {
  return new Promise((resolve, reject) => pool.getConnection((err, c) => (err ? reject(err) : resolve(c))));
}

/** The error getConnection answers with (or 'lent' when it lends a connection). */
function lendOutcome(pool: CallbackPool): Promise<Error | 'lent'> {
  return new Promise((resolve) =>
    pool.getConnection((err, c) => {
      if (err) resolve(err);
      else {
        c.release();
        resolve('lent');
      }
    }),
  );
}

function queryOutcome(pool: CallbackPool, sql: string): Promise<Error | unknown> {
  return new Promise((resolve) => pool.query(sql, (err, rows) => resolve(err ?? rows)));
}

/** How many of `ids` (connection ids) the server still has sessions for. */
async function openSessions(ids: number[]): Promise<number> {
  const c = await admin();
  try {
    const [rows] = await c.query('select count(*) as n from information_schema.processlist where id in (?)', [
      ids,
    ]);
    return Number((rows as Array<{ n: number }>)[0]?.n);
  } finally {
    await c.end();
  }
}

/** A pool from `make` whose sessions (connection ids) are recorded as they open. */
function tracked(
  make: (config: object) => CallbackPool,
  config: object,
): { pool: CallbackPool; ids: number[] } {
  const pool = make(config);
  const ids: number[] = [];
  pool.on('connection', (conn: { threadId: number | null }) => {
    if (conn.threadId !== null) ids.push(conn.threadId);
  });
  return { pool, ids };
}

/** Opens `n` sessions at once: n concurrent statements that each hold a connection for a moment. */
async function openAtOnce(pool: CallbackPool, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => queryOutcome(pool, 'select sleep(0.2) as s')));
}

/** Polls (at most `rounds` times, 100 ms apart) until `ok(open sessions)`; returns the last count. */
async function sessionsWhen(ids: number[], ok: (n: number) => boolean, rounds = 150): Promise<number> {
  let n = await openSessions(ids);
  for (let i = 0; i < rounds && !ok(n); i++) {
    await sleep(100);
    n = await openSessions(ids);
  }
  return n;
}

function end(pool: { end(cb: (err?: unknown) => void): void }): Promise<void> {
  return new Promise((resolve) => pool.end(() => resolve()));
}

/** mysql2's message, and lifeline's typed error whose message starts with it. */
function sameError(ours: unknown, theirs: unknown, Type: new (...a: never[]) => Error, code: string): void {
  assert.ok(theirs instanceof Error, `mysql2 answered ${String(theirs)}`);
  assert.ok(ours instanceof Type, `lifeline answered ${String(ours)}`);
  assert.ok(ours.message.startsWith(theirs.message), `${ours.message} starts with ${theirs.message}`);
  assert.equal((ours as Error & { code?: string }).code, code);
}

describe('mysql2 pool config parity, compared with mysql2 itself', () => {
  test('waitForConnections: false fails at once when every connection is lent', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const seen: Record<string, { lend: unknown; query: unknown; after: unknown }> = {};
    for (const [name, make] of makers) {
      const pool = make({ connectionLimit: 1, waitForConnections: false });
      const held = await lend(pool);
      const lendError = await lendOutcome(pool);
      const queryError = await queryOutcome(pool, 'select 1 as one');
      held.release();
      const after = await queryOutcome(pool, 'select 1 as one');
      seen[name] = { lend: lendError, query: queryError, after };
      await end(pool);
    }
    const { mysql2: theirs, lifeline: ours } = seen as Record<'mysql2' | 'lifeline', (typeof seen)[string]>;
    assert.equal((theirs.lend as Error).message, 'No connections available.');
    sameError(ours.lend, theirs.lend, MysqlNoConnectionsError, 'LIFELINE_MYSQL_NO_CONNECTIONS');
    sameError(ours.query, theirs.query, MysqlNoConnectionsError, 'LIFELINE_MYSQL_NO_CONNECTIONS');
    assert.deepEqual(ours.after, theirs.after, 'once released, the connection serves again');
    assert.deepEqual(ours.after, [{ one: 1 }]);
  });

  test('waitForConnections: false on the promise pools', { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const pools = [
      mysqlPromise.createPool({ ...direct, connectionLimit: 1, waitForConnections: false }),
      createPromisePool({ ...direct, connectionLimit: 1, waitForConnections: false }),
    ];
    const errors: unknown[] = [];
    for (const pool of pools) {
      const held = await pool.getConnection();
      errors.push(
        await pool.query('select 1').then(
          () => 'answered',
          (e: unknown) => e,
        ),
      );
      held.release();
      await pool.end();
    }
    sameError(errors[1], errors[0], MysqlNoConnectionsError, 'LIFELINE_MYSQL_NO_CONNECTIONS');
  });

  test('queueLimit: the caller past the limit fails, the queued one is served', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const seen: Record<string, { refused: unknown; queued: unknown }> = {};
    for (const [name, make] of makers) {
      const pool = make({ connectionLimit: 1, queueLimit: 1 });
      const held = await lend(pool);
      const queued = queryOutcome(pool, 'select 2 as two');
      const refused = await queryOutcome(pool, 'select 3 as three');
      held.release();
      seen[name] = { refused, queued: await queued };
      await end(pool);
    }
    const { mysql2: theirs, lifeline: ours } = seen as Record<'mysql2' | 'lifeline', (typeof seen)[string]>;
    assert.equal((theirs.refused as Error).message, 'Queue limit reached.');
    sameError(ours.refused, theirs.refused, MysqlQueueLimitError, 'LIFELINE_MYSQL_QUEUE_LIMIT');
    assert.deepEqual(ours.queued, theirs.queued);
    assert.deepEqual(ours.queued, [{ two: 2 }]);
  });

  test("pool.query returns mysql2's Query command: callback mode events", { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const traces: Record<string, string[][]> = {};
    for (const [name, make] of makers) {
      const pool = make({ connectionLimit: 2 });
      traces[name] = [];
      for (const sql of ['select 1 as a', 'select * from lifeline_no_such_table', 'do 1']) {
        const trace: string[] = [];
        await new Promise<void>((resolve) => {
          const command = pool.query(sql, (err, rows) => {
            trace.push(
              err
                ? `callback error ${(err as { errno?: number }).errno}`
                : `callback ${JSON.stringify(rows)}`,
            );
            setTimeout(resolve, 20);
          }) as unknown as NodeJS.EventEmitter & { sql: string; stream: unknown };
          assert.equal(command?.constructor?.name, 'Query', `${name}: pool.query returns a Query`);
          assert.equal(typeof command.stream, 'function');
          command.on('fields', (fields: Array<{ name: string }>) =>
            trace.push(`fields ${fields?.map((f) => f.name).join(',')}`),
          );
          command.on('end', () => trace.push('end'));
        });
        traces[name]?.push(trace);
      }
      await end(pool);
    }
    // Same events in the same order, but for a refused statement: mysql2 calls back before 'end'; lifeline
    // decides whether to retry first, so its 'end' comes before the callback (docs/mysql.md).
    const [ok, refused, done] = traces.lifeline as string[][];
    const [ok2, refused2, done2] = traces.mysql2 as string[][];
    assert.deepEqual([ok, done], [ok2, done2]);
    assert.deepEqual(ok, ['fields a', 'end', 'callback [{"a":1}]']);
    assert.deepEqual([...(refused ?? [])].sort(), [...(refused2 ?? [])].sort());
    assert.deepEqual(refused, ['end', 'callback error 1146']);
  });

  test('pool.query without a callback: result events and .stream()', { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const sql = 'select 1 as n union all select 2 union all select 3';
    const seen: Record<string, { events: string[]; streamed: unknown[]; failed: string[] }> = {};
    for (const [name, make] of makers) {
      const pool = make({ connectionLimit: 2 });
      const events: string[] = [];
      await new Promise<void>((resolve, reject) => {
        pool
          .query(sql)
          .on('fields', (fields: Array<{ name: string }>) =>
            events.push(`fields ${fields.map((f) => f.name)}`),
          )
          .on('result', (row: { n: number }) => events.push(`result ${row.n}`))
          .on('error', reject)
          .on('end', () => {
            events.push('end');
            resolve();
          });
      });
      const streamed: unknown[] = [];
      for await (const row of pool.query(sql).stream()) streamed.push(row);
      const failed: string[] = [];
      await new Promise<void>((resolve) => {
        pool
          .query('select * from lifeline_no_such_table')
          .on('error', (err: { errno?: number }) => failed.push(`error ${err.errno}`))
          .on('end', () => {
            failed.push('end');
            resolve();
          });
      });
      seen[name] = { events, streamed, failed };
      await end(pool);
    }
    assert.deepEqual(seen.lifeline, seen.mysql2);
    assert.deepEqual(seen.lifeline?.events, ['fields n', 'result 1', 'result 2', 'result 3', 'end']);
    assert.deepEqual(seen.lifeline?.streamed, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  test('maxIdle: idle sessions above it close, maxIdle of them stay', { timeout: 60_000 }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const seen = await Promise.all(
      makers.map(async ([name, make]) => {
        const { pool, ids } = tracked(make, { connectionLimit: 4, maxIdle: 1, idleTimeout: 600_000 });
        await openAtOnce(pool, 4);
        const opened = ids.length;
        // Both sweep once a second: wait (bounded) until no more than maxIdle are left, then count.
        const left = await sessionsWhen(ids, (n) => n <= 1);
        const after = await queryOutcome(pool, 'select 1 as one');
        await end(pool);
        return { name, opened, left, after };
      }),
    );
    for (const { name, opened, left, after } of seen) {
      assert.equal(opened, 4, `${name}: four sessions opened`);
      assert.equal(left, 1, `${name}: maxIdle (1) idle sessions stay open, the others close`);
      assert.deepEqual(after, [{ one: 1 }], `${name}: the pool serves on`);
    }
  });

  test('idleTimeout: every idle session closes after it when maxIdle < connectionLimit, none otherwise', {
    timeout: 60_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const seen = await Promise.all(
      makers.map(async ([name, make]) => {
        const sweeping = tracked(make, { connectionLimit: 3, maxIdle: 2, idleTimeout: 300 });
        const keeping = tracked(make, { connectionLimit: 3, idleTimeout: 300 });
        await Promise.all([openAtOnce(sweeping.pool, 3), openAtOnce(keeping.pool, 3)]);
        const swept = await sessionsWhen(sweeping.ids, (n) => n === 0);
        // mysql2 sweeps only when maxIdle < connectionLimit: by now (several sweeps after idleTimeout, as the
        // other pool showed) the default maxIdle pool has closed none of its idle sessions.
        const kept = await openSessions(keeping.ids);
        await Promise.all([end(sweeping.pool), end(keeping.pool)]);
        return { name, swept, kept };
      }),
    );
    for (const { name, swept, kept } of seen) {
      assert.equal(
        swept,
        0,
        `${name}: maxIdle 2 < connectionLimit 3: every idle session closed after idleTimeout`,
      );
      assert.equal(kept, 3, `${name}: maxIdle = connectionLimit: idle sessions stay open`);
    }
  });

  test('resetOnRelease: session state is gone after a release, kept without it', {
    timeout: 60_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const seen: Record<string, unknown[]> = {};
    for (const [name, make] of makers) {
      const outcomes: unknown[] = [];
      for (const resetOnRelease of [true, false]) {
        const pool = make({ connectionLimit: 1, resetOnRelease });
        const conn = await lend(pool);
        await new Promise((resolve) => conn.query('set @lent = 5', resolve));
        conn.release();
        outcomes.push(await queryOutcome(pool, 'select @lent as lent'));
        // pool.query releases too: mysql2 resets after it as well.
        await queryOutcome(pool, 'set @queried = 7');
        outcomes.push(await queryOutcome(pool, 'select @queried as queried'));
        // Prepared statements do not outlive a reset on the server; mysql2 forgets its cache with them.
        const executed: unknown[] = [];
        for (let i = 0; i < 2; i++) {
          executed.push(
            await new Promise((resolve) =>
              pool.execute('select ? as v', [i], (err, rows) => resolve(err ?? rows)),
            ),
          );
        }
        outcomes.push(executed);
        await end(pool);
      }
      seen[name] = outcomes;
    }
    assert.deepEqual(seen.lifeline, seen.mysql2);
    assert.deepEqual(seen.lifeline, [
      [{ lent: null }],
      [{ queried: null }],
      [[{ v: 0 }], [{ v: 1 }]],
      [{ lent: 5 }],
      [{ queried: 7 }],
      [[{ v: 0 }], [{ v: 1 }]],
    ]);
  });

  test("promise pools: a failed statement's error carries the caller's stack (trace), as mysql2's", {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    class Tagged<T> extends Promise<T> {}
    const seen: Record<string, unknown> = {};
    const promiseMakers: Array<[string, (config: object) => ReturnType<typeof mysqlPromise.createPool>]> = [
      ['mysql2', (config) => mysqlPromise.createPool(config)],
      ['lifeline', (config) => createPromisePool(config)],
    ];
    for (const [name, make] of promiseMakers) {
      const traced = make({ ...direct, connectionLimit: 1 });
      const untraced = make({ ...direct, connectionLimit: 1, trace: false });
      const tagged = make({ ...direct, connectionLimit: 1, Promise: Tagged });
      async function callerOfQuery(): Promise<unknown> {
        return traced.query('select no_such_column').catch((e: Error) => e);
      }
      async function callerOfExecute(): Promise<unknown> {
        return traced.execute('select no_such_column', []).catch((e: Error) => e);
      }
      async function callerUntraced(): Promise<unknown> {
        return untraced.query('select no_such_column').catch((e: Error) => e);
      }
      const stackOf = (e: unknown) => {
        const lines = String((e as Error).stack).split('\n');
        return {
          first: lines[0],
          caller: lines[1]?.trim().split(' ')[1],
          code: (e as { code?: string }).code,
        };
      };
      const made = tagged.query('select 5 as five');
      seen[name] = {
        query: stackOf(await callerOfQuery()),
        execute: stackOf(await callerOfExecute()),
        untraced: String(((await callerUntraced()) as Error).stack).includes('callerUntraced'),
        callback: (() => {
          try {
            traced.query('select 1', (() => {}) as never);
            return 'no throw';
          } catch (e) {
            return (e as Error).message;
          }
        })(),
        tagged: made instanceof Tagged,
        rows: (await made)[0],
      };
      await Promise.all([traced.end(), untraced.end(), tagged.end()]);
    }
    const error = { first: "Error: Unknown column 'no_such_column' in 'SELECT'", code: 'ER_BAD_FIELD_ERROR' };
    assert.deepEqual(seen.mysql2, {
      query: { ...error, caller: 'callerOfQuery' },
      execute: { ...error, caller: 'callerOfExecute' },
      untraced: false,
      callback: 'Callback function is not available with promise clients.',
      tagged: true,
      rows: [{ five: 5 }],
    });
    assert.deepEqual(seen.lifeline, seen.mysql2);
  });

  test('resetOnRelease: reads still run in a read-only session after a reset (lifeline)', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const pool = createPool({
      ...direct,
      connectionLimit: 1,
      resetOnRelease: true,
    }) as unknown as CallbackPool;
    const modes: unknown[] = [];
    for (let i = 0; i < 3; i++) modes.push(await queryOutcome(pool, 'select @@session.tx_read_only as ro'));
    const write = await queryOutcome(pool, 'do 1');
    modes.push(await queryOutcome(pool, 'select @@session.tx_read_only as ro'));
    await end(pool);
    // The reset makes the session read-write again: lifeline must switch it back before every read.
    assert.deepEqual(modes, Array(4).fill([{ ro: 1 }]));
    assert.ok(!(write instanceof Error), `a write runs read-write after reads: ${String(write)}`);
  });
});
