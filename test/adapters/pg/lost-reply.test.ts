/**
 * Reply verification: a middlebox that swallows bytes while keeping connections open never leaves a query
 * hanging, and a long query is never killed by it. Real server, fault proxy (`timeout` toxic at 0: every byte
 * dropped, connections kept open). No timing thresholds: every test waits for outcomes, bounded by its timeout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  capabilitiesOf,
  OutcomeUnknownError,
  PgConnectionLostError,
  Pool,
} from '../../../src/adapters/pg/index.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { requireService, services } from '../../support/services.js';
import { admin } from './core.js';
import { withProxy } from './proxy.js';
import { sleep } from './support.js';

const table = `lifeline_lost_reply_${process.pid}`;
const STREAMS = ['upstream', 'downstream'] as const;

/** The middlebox swallows every byte both ways, connections kept open. */
function swallow(proxy: FaultProxy): void {
  for (const stream of STREAMS) {
    proxy.addToxic({ name: `swallow-${stream}`, type: 'timeout', stream, attributes: { timeout: 0 } });
  }
}

/**
 * The middlebox passes bytes again on the same connections (what it dropped stays lost): the toxic is taken
 * off them by lowering its toxicity, which keeps them open (docs/faults.md), then removed.
 */
function heal(proxy: FaultProxy): void {
  for (const stream of STREAMS) proxy.updateToxic(`swallow-${stream}`, { toxicity: 0 });
  for (const stream of STREAMS) proxy.removeToxic(`swallow-${stream}`);
}

/** What a statement ended with: its rows, or its error (by class and code). */
async function outcome(p: Promise<{ rows: unknown[] }>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (error) {
    return error instanceof Error
      ? `${error.constructor.name} ${(error as { code?: string }).code}`
      : 'thrown';
  }
}

describe('reply verification (lifeline-net/pg)', () => {
  before(async () => {
    const c = admin();
    try {
      await c.connect();
    } catch {
      return; // reported by requireService in each test
    }
    await c.query(`create table if not exists ${table} (token text not null)`);
    await c.end();
  });
  after(async () => {
    const c = admin();
    try {
      await c.connect();
      await c.query(`drop table if exists ${table}`);
      await c.end();
    } catch {
      // Nothing to clean up.
    }
  });

  test('a middlebox swallows every byte for 2 s, connections kept open, then passes: no query hangs, writes apply once', {
    timeout: 90_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    await withProxy(async (proxy, endpoint) => {
      const pool = new Pool({ ...endpoint, max: 4 });
      pool.on('error', () => {});
      try {
        const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
        for (const c of clients) c.release();
        // The sessions' last activity must predate the statements clearly (by more than the watch's
        // granularity and margin) for the server's idle time to prove they never arrived.
        await sleep(3000);
        swallow(proxy);
        const tokens = Array.from({ length: 4 }, () => randomUUID());
        const running = [
          outcome(pool.query('select 1 as n')),
          outcome(pool.query('select $1::int as n', [2])),
          ...tokens.map((token) => outcome(pool.query(`insert into ${table} values ($1)`, [token]))),
        ];
        await sleep(2000);
        heal(proxy);
        const outcomes = await Promise.all(running);
        // Reads run again (read-only session); the writes never reached the server, so they ran again too.
        assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
        const stats = pool.protectionStats();
        assert.ok(stats.repliesLost > 0, JSON.stringify(stats));
        const c = admin();
        await c.connect();
        const { rows } = await c.query(
          `select token, count(*)::int as n from ${table} where token = any($1) group by token`,
          [tokens],
        );
        await c.end();
        assert.deepEqual(
          rows.map((r) => r.n),
          [1, 1, 1, 1],
        );
        // The pool is healthy afterwards.
        for (let i = 0; i < 20; i++)
          assert.equal((await pool.query('select $1::int as i', [i])).rows[0].i, i);
      } finally {
        await pool.end();
      }
    });
  });

  test('a reply lost on the way back: the write is outcome-unknown (never run twice), reads run again', {
    timeout: 90_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    await withProxy(async (proxy, endpoint) => {
      const pool = new Pool({ ...endpoint, max: 2, lifeline: { verifyAfterMs: 1000 } });
      pool.on('error', () => {});
      try {
        const clients = await Promise.all(Array.from({ length: 2 }, () => pool.connect()));
        for (const c of clients) c.release();
        // Only replies are swallowed: the statements reach the server and run.
        proxy.addToxic({
          name: 'replies',
          type: 'timeout',
          stream: 'downstream',
          attributes: { timeout: 0 },
        });
        const token = randomUUID();
        const write = outcome(pool.query(`insert into ${table} values ($1)`, [token]));
        const read = outcome(pool.query('select 3 as n'));
        await sleep(1500);
        proxy.updateToxic('replies', { toxicity: 0 });
        proxy.removeToxic('replies');
        assert.deepEqual(await Promise.all([write, read]), [
          `${OutcomeUnknownError.name} LIFELINE_OUTCOME_UNKNOWN`,
          'ok',
        ]);
        const c = admin();
        await c.connect();
        const { rows } = await c.query(`select count(*)::int as n from ${table} where token = $1`, [token]);
        await c.end();
        assert.deepEqual(rows, [{ n: 1 }]);
      } finally {
        await pool.end();
      }
    });
  });

  test('the timeout toxic at 0, removed after 2 s: every query completes or fails by classification; the pool recovers', {
    timeout: 90_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    await withProxy(async (proxy, endpoint) => {
      const pool = new Pool({ ...endpoint, max: 4 });
      pool.on('error', () => {});
      try {
        const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
        for (const c of clients) c.release();
        swallow(proxy);
        const running = [
          outcome(pool.query('select 1 as n')),
          outcome(pool.query(`insert into ${table} values ($1)`, [randomUUID()])),
          outcome(pool.query('select 2 as n')),
        ];
        await sleep(2000);
        for (const stream of STREAMS) proxy.removeToxic(`swallow-${stream}`);
        const outcomes = await Promise.all(running);
        assert.equal(outcomes[0], 'ok');
        assert.equal(outcomes[2], 'ok');
        assert.ok(
          ['ok', `${OutcomeUnknownError.name} LIFELINE_OUTCOME_UNKNOWN`].includes(outcomes[1] ?? ''),
          outcomes[1],
        );
        for (let i = 0; i < 10; i++)
          assert.equal((await pool.query('select $1::int as i', [i])).rows[0].i, i);
      } finally {
        await pool.end();
      }
    });
  });

  test('a 20 s pg_sleep with default settings completes untouched while verification runs', {
    timeout: 90_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const pool = new Pool({ ...services.postgres, max: 1 });
    let removed = 0;
    pool.on('remove', () => removed++);
    try {
      const client = await pool.connect();
      assert.equal(capabilitiesOf(client).replyVerification, true, capabilitiesOf(client).reasons.join('; '));
      client.release();
      const { rows } = await pool.query("select pg_sleep(20), 'done' as d");
      assert.equal(rows[0].d, 'done');
      const stats = pool.protectionStats();
      assert.ok(stats.verifications > 0, `verification ran: ${JSON.stringify(stats)}`);
      assert.equal(stats.repliesLost, 0);
      assert.equal(removed, 0);
    } finally {
      await pool.end();
    }
  });

  test('verifyAfterMs: 0 turns verification off', { timeout: 30_000 }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const pool = new Pool({ ...services.postgres, max: 1, lifeline: { verifyAfterMs: 0 } });
    try {
      const client = await pool.connect();
      assert.equal(capabilitiesOf(client).replyVerification, false);
      client.release();
    } finally {
      await pool.end();
    }
  });

  test('a verification that cannot reach the host keeps waiting', { timeout: 90_000 }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    await withProxy(async (proxy, endpoint) => {
      const pool = new Pool({ ...endpoint, max: 1, lifeline: { verifyAfterMs: 200 } });
      pool.on('error', () => {});
      try {
        (await pool.connect()).release();
        swallow(proxy);
        const running = outcome(pool.query('select 4 as n'));
        // Checks start while every byte is still swallowed: their connections go nowhere.
        while (pool.protectionStats().verifyFailures === 0) await sleep(100);
        heal(proxy);
        assert.equal(await running, 'ok');
        assert.ok(PgConnectionLostError.name);
      } finally {
        await pool.end();
      }
    });
  });
});
