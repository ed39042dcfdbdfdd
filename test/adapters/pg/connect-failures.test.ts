// Connects that fail. pg.Pool hands each waiting caller its connect error at once; lifeline-net/pg rides out a
// short run of transient failures (a restart) for lifeline.connectRetryMs, then hands it over, and hands over
// at once what retrying cannot fix. Nothing waits forever, nothing spins. An acquire that times out keeps
// pg's wording.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PgConnectError, PgUnsupportedClientError } from '../../../src/adapters/pg/errors.js';
import { AcquireTimeoutError, Pool } from '../../../src/adapters/pg/index.js';
import { requireService } from '../../support/services.js';
import { connection } from './support.js';

/** A loopback port nothing listens on: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Listens on `port` (loopback) and pipes every connection to the real server: the server "comes back". */
function forwardTo(port: number, target: number): net.Server {
  const server = net.createServer((socket) => {
    const upstream = net.connect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  server.listen(port, '127.0.0.1');
  return server;
}

const connectFailure =
  (final: boolean, causeCode: string | RegExp) =>
  (e: Error & { cause?: { code?: string; message?: string } }) => {
    assert.ok(e instanceof PgConnectError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 'LIFELINE_PG_CONNECT_FAILED');
    assert.equal(e.final, final);
    const code = e.cause?.code ?? e.cause?.message ?? '';
    assert.ok(typeof causeCode === 'string' ? code === causeCode : causeCode.test(code), String(code));
    return true;
  };

// Long enough that a caller getting an error at all proves the failure was handed over, not timed out.
const PATIENT = { acquireTimeoutMs: 120_000 };

describe('connect failures reach the callers', () => {
  test('a refused connection: pg hands ECONNREFUSED over; lifeline after connectRetryMs, with it as cause', {
    timeout: 30_000,
  }, async () => {
    const port = await refusingPort();
    const theirs = new pg.Pool({ ...connection(), port });
    await assert.rejects(theirs.query('select 1'), { code: 'ECONNREFUSED' });
    await theirs.end();
    // connectionTimeoutMillis 0 is pg's "wait forever"; the retry window still ends the wait.
    const ours = new Pool({ ...connection(), port, lifeline: { ...PATIENT, connectRetryMs: 300 } });
    const waiting = [ours.query('select 1'), ours.connect(), ours.query('select 2')];
    for (const p of waiting) await assert.rejects(p, connectFailure(false, 'ECONNREFUSED'));
    // Until the next attempt is due, a new caller gets the same failure without waiting.
    await assert.rejects(ours.query('select 3'), connectFailure(false, 'ECONNREFUSED'));
    await ours.end();
  });

  test('a restart long after an earlier outage is ridden out again: the window starts with the new failures', {
    timeout: 30_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const port = await refusingPort();
    const lifeline = { ...PATIENT, connectRetryMs: 1500, connectTimeoutMs: 50, createBackoffMaxMs: 100 };
    const pool = new Pool({ ...connection(), port, lifeline });
    await assert.rejects(pool.query('select 1'), connectFailure(false, 'ECONNREFUSED'));
    // Quiet for longer than a continuous run of attempts leaves between two failures (backoff + connect time).
    await new Promise((r) => setTimeout(r, 1500));
    const answered = pool.query('select 2 as n');
    // The server comes back well within connectRetryMs of the new failures: the query waits it out.
    await new Promise((r) => setTimeout(r, 200));
    const server = forwardTo(port, connection().port ?? 5432);
    try {
      assert.equal((await answered).rows[0].n, 2);
    } finally {
      await pool.end();
      server.close();
    }
  });

  test('connectRetryMs: 0 hands over the first refusal, as pg does', { timeout: 30_000 }, async () => {
    const port = await refusingPort();
    const pool = new Pool({ ...connection(), port, lifeline: { ...PATIENT, connectRetryMs: 0 } });
    await assert.rejects(pool.query('select 1'), connectFailure(false, 'ECONNREFUSED'));
    await pool.end();
  });

  const finalCases: [string, Record<string, unknown>, string | RegExp][] = [
    ['unknown database (3D000)', { database: 'lifeline_no_such_db' }, '3D000'],
    ['unknown role (28000)', { user: 'lifeline_no_such_role' }, '28000'],
    ['TLS the server does not offer', { ssl: true }, /does not support SSL/],
  ];
  for (const [name, config, causeCode] of finalCases) {
    test(`${name}: at once, to every waiting caller, with pg's error as cause`, {
      timeout: 30_000,
    }, async (t) => {
      if (!(await requireService(t, 'postgres'))) return;
      // The default retry window (5 s) would hold a transient failure; a final one does not wait for it.
      const pool = new Pool({ ...connection(), ...config, lifeline: PATIENT });
      const callers = [
        pool.query('select 1'),
        pool.connect(),
        pool.query({ text: 'select 2', idempotent: true }),
      ];
      for (const p of callers) await assert.rejects(p, connectFailure(true, causeCode));
      await pool.end();
    });
  }

  test('a Client whose connect() resolves without connecting: a typed error, no spinning', {
    timeout: 30_000,
  }, async () => {
    let made = 0;
    class Hollow extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super(config);
        made++;
      }
      // Resolves at once, having connected nothing.
      override connect(): Promise<pg.Client>;
      override connect(callback: (err: Error) => void): void;
      override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
        if (callback)
          return void process.nextTick(callback as unknown as (err: null, c: pg.Client) => void, null, this);
        return Promise.resolve(this);
      }
    }
    const pool = new Pool({ ...connection(), Client: Hollow, lifeline: PATIENT });
    let connects = 0;
    pool.on('connect', () => connects++);
    const callers = Array.from({ length: 20 }, (_, i) => pool.query(`select ${i}`));
    for (const p of callers) {
      await assert.rejects(p, (e: Error) => {
        assert.ok(e instanceof PgConnectError && e.final, String(e));
        assert.ok(e.cause instanceof PgUnsupportedClientError);
        assert.equal((e.cause as PgUnsupportedClientError).code, 'LIFELINE_PG_UNSUPPORTED_CLIENT');
        return true;
      });
    }
    // Twenty callers, one failure handed to all: a handful of attempts, not one per promise turn.
    assert.ok(made <= 4, `${made} clients constructed`);
    assert.equal(connects, 0, "no 'connect' for a client that never connected");
    await pool.end();
  });
});

test("an acquire that times out keeps pg's wording, with lifeline's code and cause added", {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const pgWording = /timeout exceeded when trying to connect/;
  const theirs = new pg.Pool({ ...connection(), max: 1, connectionTimeoutMillis: 100 });
  const ours = new Pool({ ...connection(), max: 1, connectionTimeoutMillis: 100 });
  for (const pool of [theirs, ours]) {
    const held = await pool.connect();
    await assert.rejects(pool.connect(), pgWording);
    await assert.rejects(pool.query('select 1'), pgWording);
    held.release();
  }
  const held = await ours.connect();
  await assert.rejects(ours.query('select 1'), (e: Error & { code?: string }) => {
    assert.ok(e instanceof AcquireTimeoutError);
    assert.equal(e.code, 'LIFELINE_ACQUIRE_TIMEOUT');
    assert.match(e.message, /^timeout exceeded when trying to connect: .*busy=1/);
    return true;
  });
  held.release();
  await Promise.all([theirs.end(), ours.end()]);
});
