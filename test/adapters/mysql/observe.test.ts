/**
 * lifeline-net/mysql's observability against the real MariaDB, scraped with prom-client and parsed: the
 * disagreement counter (lifeline's LiveSocket knows a connection is dead while mysql2's own flags —
 * `_fatalError`, `_closing`, `stream.destroyed` — still say open) and the lost-reply verification verdicts.
 */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createPool } from '../../../src/adapters/mysql/promise.js';
import { CHANNEL_EVENTS, instrument } from '../../../src/observe/index.js';
import { parsePromText, sample } from '../../observe/prom-text.js';
import { sleep, withProxy } from './support.js';

const STREAMS = ['upstream', 'downstream'] as const;

function listen(t: { after(fn: () => void): void }, channel: string): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  const on = (m: unknown) => seen.push(m as Record<string, unknown>);
  diagnostics_channel.subscribe(channel, on);
  t.after(() => diagnostics_channel.unsubscribe(channel, on));
  return seen;
}

test("a FIN on an idle connection: lifeline knows, mysql2's flags still say open — counted once", {
  timeout: 30_000,
}, async (t) => {
  const registry = new Registry();
  const metrics = instrument({ registry });
  t.after(() => metrics.close());
  const seen = listen(t, CHANNEL_EVENTS.driverDisagreement);
  await withProxy(t, async (proxy, endpoint) => {
    const pool = createPool({ ...endpoint, connectionLimit: 1 });
    try {
      await pool.query('select 1');
      const before = seen.length;
      proxy.closeAll('fin');
      // Bounded: the pool evicts the connection at the FIN.
      for (
        let i = 0;
        i < 200 && (pool.pool as unknown as { stats(): { total: number } }).stats().total > 0;
        i++
      )
        await sleep(10);
      assert.equal(seen.length - before, 1, JSON.stringify(seen));
      assert.deepEqual(seen.at(-1), {
        driver: 'mysql2',
        flag: 'open',
        endpoint: `${endpoint.host}:${endpoint.port}`,
      });
      // The next statement runs on a new connection.
      const [rows] = await pool.query('select 2 as two');
      assert.deepEqual(rows, [{ two: 2 }]);
      // A pool that closes its own connections (end: COM_QUIT, mysql2 `_closing`) is no disagreement.
    } finally {
      await pool.end();
    }
  });
  const scrape = parsePromText(await registry.metrics());
  assert.equal(
    sample(scrape, 'lifeline_driver_disagreements_total', {
      lifeline_driver: 'mysql2',
      lifeline_driver_flag: 'open',
    }),
    seen.filter((m) => m.driver === 'mysql2').length,
  );
  assert.equal(seen.filter((m) => m.driver === 'mysql2').length, 1, 'pool.end() added none');
});

test('a reply swallowed by a middlebox is verified lost: the verdict is published and counted', {
  timeout: 60_000,
}, async (t) => {
  const registry = new Registry();
  const metrics = instrument({ registry });
  t.after(() => metrics.close());
  const verdicts = listen(t, CHANNEL_EVENTS.verifyVerdict);
  await withProxy(t, async (proxy, endpoint) => {
    const pool = createPool({ ...endpoint, connectionLimit: 1, lifeline: { verifyAfterMs: 1000 } });
    try {
      await pool.query('select 1');
      // The session's last activity must predate the statement clearly for the server's idle time to prove it.
      await sleep(2500);
      for (const stream of STREAMS) {
        proxy.addToxic({
          name: `swallow-${stream}`,
          type: 'timeout',
          stream,
          attributes: { timeout: 0 },
          target: { connection: Math.max(...proxy.connections().map((c) => c.id)) },
        });
      }
      // A read: verified lost, then run again on a new connection.
      const [rows] = await pool.query('select 3 as three');
      assert.deepEqual(rows, [{ three: 3 }]);
    } finally {
      for (const stream of STREAMS) proxy.removeToxic(`swallow-${stream}`);
      await pool.end();
    }
  });
  const lost = verdicts.filter((v) => v.verdict === 'lost');
  assert.ok(lost.length >= 1, JSON.stringify(verdicts));
  for (const v of verdicts) assert.equal(v.protocol, 'mysql');
  const scrape = parsePromText(await registry.metrics());
  assert.equal(
    sample(scrape, 'lifeline_verify_verdicts_total', {
      lifeline_protocol: 'mysql',
      lifeline_verdict: 'lost',
    }),
    lost.length,
  );
});
