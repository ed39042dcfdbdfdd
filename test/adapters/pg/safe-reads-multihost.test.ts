/**
 * Safe reads with a multi-host connection string and target_session_attrs: a private primary and a real
 * streaming standby (PgCluster), each behind its own fault proxy, listed standby first. Whichever server
 * target_session_attrs picks, unannotated reads ride out connection resets with 0 errors (they ran on a
 * read-only session), writes that look like reads are applied at most once (exactly once when they
 * succeeded), and plain writes reach the primary. No timing thresholds: every wait is for an outcome.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { capabilitiesOf, OutcomeUnknownError, Pool } from '../../../src/adapters/pg/index.js';
import { FaultProxy } from '../../../src/faults/index.js';
import { PgCluster } from '../../support/pg-cluster.js';
import { capabilitySkip } from '../../support/services.js';

const WORKERS = 16;
const ROUNDS = 30;
/** A reset of every proxied connection after this many completed statements, this many times. */
const CUT_EVERY = 60;
const CUTS = 4;

/** Runs `workers` loops of `rounds` statements each; `fault(done)` is called after every completed one. */
async function hammer(
  run: (i: number) => Promise<unknown>,
  fault: (done: number) => void,
): Promise<{ ok: number; errors: unknown[] }> {
  let ok = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let r = 0; r < ROUNDS; r++) {
        try {
          await run(w * ROUNDS + r);
          ok++;
        } catch (error) {
          errors.push(error);
        }
        fault(ok + errors.length);
      }
    }),
  );
  return { ok, errors };
}

/** Every CUT_EVERY completed statements (CUTS times), every connection through both proxies is reset. */
function resets(proxies: FaultProxy[]): (done: number) => void {
  let cuts = 0;
  return (done) => {
    if (cuts < CUTS && done >= (cuts + 1) * CUT_EVERY) {
      cuts++;
      for (const proxy of proxies) proxy.closeAll('reset');
    }
  };
}

function describeErrors(errors: unknown[]): string {
  return errors
    .map((e) => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)))
    .join('\n');
}

const skip = capabilitySkip(PgCluster.unsupported());

describe('safe reads with multi-host target_session_attrs (primary + streaming standby)', { skip }, () => {
  let primary: PgCluster;
  let standby: PgCluster;
  const proxies: FaultProxy[] = [];
  /** Standby first, as a list that must be filtered by target_session_attrs to find the primary. */
  let hostList = '';

  before(async () => {
    primary = await PgCluster.start();
    const setup = new pg.Client({
      host: primary.host,
      port: primary.port,
      user: 'postgres',
      database: 'test',
    });
    await setup.connect();
    await setup.query('create table log (token text not null)');
    await setup.query(
      'create function f(t text) returns int language sql as $$ insert into log values (t) returning 1 $$',
    );
    await setup.query('create table items (id int primary key, n int not null)');
    await setup.query('insert into items select g, 0 from generate_series(0, 63) g');
    await setup.end();
    standby = await PgCluster.start({ standbyOf: primary });
    const ports: number[] = [];
    for (const server of [standby, primary]) {
      const proxy = new FaultProxy({
        listen: '127.0.0.1:0',
        upstream: `${server.host}:${server.port}`,
        seed: 1,
      });
      ports.push((await proxy.start()).port);
      proxies.push(proxy);
    }
    hostList = ports.map((port) => `127.0.0.1:${port}`).join(',');
  });

  after(async () => {
    for (const proxy of proxies) await proxy.stop();
    standby?.destroy();
    primary?.destroy();
  });

  const url = (attrs: string) => `postgres://postgres@${hostList}/test?target_session_attrs=${attrs}`;

  async function withPool(attrs: string, body: (pool: Pool) => Promise<void>): Promise<void> {
    const pool = new Pool({ connectionString: url(attrs), max: 8 });
    pool.on('error', () => {});
    try {
      await body(pool);
    } finally {
      await pool.end();
    }
  }

  /** The port of the server behind the pool's connections (the proxies hide it from the client). */
  async function serverPort(pool: Pool): Promise<number> {
    return Number((await pool.query('select inet_server_port() as p')).rows[0].p);
  }

  for (const [attrs, server] of [
    ['read-write', () => primary],
    ['primary', () => primary],
    ['prefer-standby', () => standby],
    ['any', () => standby],
  ] as const) {
    test(`target_session_attrs=${attrs}: unannotated reads through resets, 0 errors`, {
      timeout: 120_000,
    }, async () => {
      await withPool(attrs, async (pool) => {
        assert.equal(await serverPort(pool), server().port);
        const client = await pool.connect();
        const caps = capabilitiesOf(client);
        client.release();
        assert.equal(caps.safeReads, true, caps.reasons.join('; '));
        let removed = 0;
        pool.on('remove', () => removed++);
        const { ok, errors } = await hammer(async (i) => {
          const { rows } = await pool.query(
            'select $1::int as i, n, inet_server_port() as p, pg_sleep(0.002) from items where id = $2',
            [i, i % 64],
          );
          assert.equal(rows[0].i, i);
          // `any` takes whichever listed server accepts: a reset that lands on a connect to the standby moves
          // that connect on to the primary (as libpq does), so under resets both are right answers.
          if (attrs === 'any')
            assert.ok([standby.port, primary.port].includes(rows[0].p), `port ${rows[0].p}`);
          else assert.equal(rows[0].p, server().port);
        }, resets(proxies));
        assert.equal(describeErrors(errors), '');
        assert.equal(ok, WORKERS * ROUNDS);
        assert.ok(removed > 0, 'connections were reset under the reads');
        assert.ok(pool.protectionStats().readsReadOnly >= WORKERS * ROUNDS);
      });
    });
  }

  test('target_session_attrs=read-write: reads and writes mixed through resets; reads 0 errors, writes applied at most once', {
    timeout: 120_000,
  }, async () => {
    await withPool('read-write', async (pool) => {
      const tokens: string[] = [];
      const succeeded = new Set<string>();
      const readErrors: unknown[] = [];
      const { errors } = await hammer(async (i) => {
        if (i % 2 === 0) {
          try {
            await pool.query('select n, pg_sleep(0.002) from items where id = $1', [i % 64]);
          } catch (error) {
            readErrors.push(error);
          }
          return;
        }
        // A write that looks like a read: taken for one, refused read-only (25006), run once read-write.
        const token = randomUUID();
        tokens.push(token);
        await pool.query('select f($1) as r, pg_sleep(0.002)', [token]);
        succeeded.add(token);
      }, resets(proxies));
      assert.equal(describeErrors(readErrors), '');
      // A write whose reply was lost is not retried: it fails as outcome-unknown, never anything else.
      for (const error of errors) assert.ok(error instanceof OutcomeUnknownError, describeErrors([error]));
      const { rows } = await pool.query<{ token: string; n: number }>(
        'select token, count(*)::int as n from log where token = any($1) group by token',
        [tokens],
      );
      const applied = new Map(rows.map((r) => [r.token, r.n]));
      for (const [token, n] of applied) assert.equal(n, 1, `token ${token} applied ${n} times`);
      for (const token of succeeded) assert.equal(applied.get(token), 1, 'a success was applied');
      assert.ok(applied.size <= succeeded.size + errors.length);
      assert.ok(pool.protectionStats().writesRerun > 0, 'writes taken for reads ran again read-write');
    });
  });

  test('target_session_attrs=prefer-standby: a write fails as on the standby itself, and is never applied', {
    timeout: 60_000,
  }, async () => {
    await withPool('prefer-standby', async (pool) => {
      const token = randomUUID();
      await assert.rejects(
        pool.query('insert into log values ($1)', [token]),
        (e: Error & { code?: string }) => {
          // 25006: read-only transaction (a standby runs every transaction read-only).
          assert.equal(e.code, '25006', e.message);
          return true;
        },
      );
      await assert.rejects(pool.query('select f($1)', [token]), (e: Error & { code?: string }) => {
        assert.equal(e.code, '25006', e.message);
        return true;
      });
      const writer = new Pool({ connectionString: url('read-write'), max: 1 });
      try {
        assert.deepEqual(
          (await writer.query('select count(*)::int as n from log where token = $1', [token])).rows,
          [{ n: 0 }],
        );
      } finally {
        await writer.end();
      }
    });
  });
});
