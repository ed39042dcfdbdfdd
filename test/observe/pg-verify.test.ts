// Lost-reply verification verdicts against the real Postgres: a middlebox (our fault proxy, `timeout` toxic at
// 0) swallows every byte with the connection kept open; lifeline-net/pg asks the server on another connection,
// finds the session idle, and the verdict `lost` is published and scraped.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { Pool } from '../../src/adapters/pg/index.js';
import { CHANNEL_EVENTS, instrument } from '../../src/observe/index.js';
import { withProxy } from '../adapters/pg/proxy.js';
import { sleep } from '../adapters/pg/support.js';
import { requireService } from '../support/services.js';
import { parsePromText, sample } from './prom-text.js';

const STREAMS = ['upstream', 'downstream'] as const;

test('a reply swallowed by a middlebox is verified lost: the verdict is published and counted', {
  timeout: 90_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const verdicts: Record<string, unknown>[] = [];
  const on = (m: unknown) => verdicts.push(m as Record<string, unknown>);
  diagnostics_channel.subscribe(CHANNEL_EVENTS.verifyVerdict, on);
  t.after(() => diagnostics_channel.unsubscribe(CHANNEL_EVENTS.verifyVerdict, on));
  const registry = new Registry();
  const metrics = instrument({ registry });
  t.after(() => metrics.close());
  await withProxy(async (proxy, endpoint) => {
    const pool = new Pool({ ...endpoint, max: 1, lifeline: { verifyAfterMs: 1000 } });
    pool.on('error', () => {});
    metrics.pool(pool, 'verified');
    try {
      (await pool.connect()).release();
      // The session's last activity must predate the statement clearly for the server's idle time to prove it.
      await sleep(3000);
      for (const stream of STREAMS) {
        proxy.addToxic({ name: `swallow-${stream}`, type: 'timeout', stream, attributes: { timeout: 0 } });
      }
      const running = pool.query('select 1 as n').then(
        () => 'ok',
        (e: unknown) => String(e),
      );
      await sleep(2000);
      for (const stream of STREAMS) proxy.updateToxic(`swallow-${stream}`, { toxicity: 0 });
      for (const stream of STREAMS) proxy.removeToxic(`swallow-${stream}`);
      assert.equal(await running, 'ok');
    } finally {
      await pool.end();
    }
  });
  const lost = verdicts.filter((v) => v.verdict === 'lost');
  assert.ok(lost.length >= 1, JSON.stringify(verdicts));
  for (const v of verdicts) assert.equal(v.protocol, 'postgres');
  const scrape = parsePromText(await registry.metrics());
  assert.equal(
    sample(scrape, 'lifeline_verify_verdicts_total', {
      lifeline_protocol: 'postgres',
      lifeline_verdict: 'lost',
    }),
    lost.length,
  );
});
