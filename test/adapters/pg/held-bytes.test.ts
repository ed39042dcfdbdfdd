// Reply verification must not take "idle since before the statement left" alone as "never received": a
// middlebox (here the fault proxy's latency toxic) may still hold the statement's bytes and deliver them after
// the connection was given up, and a retry would then apply a write twice (the soak found this on MySQL).
// lifeline-net/pg ends such a backend (pg_terminate_backend, still idle) before it calls the statement not-sent.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Pool } from '../../../src/adapters/pg/index.js';
import { requireService } from '../../support/services.js';
import { admin } from './core.js';
import { withProxy } from './proxy.js';
import { sleep } from './support.js';

test('a write held by a middlebox while the server is asked runs once: its idle backend is ended before the retry', {
  timeout: 60_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const table = `lifeline_held_${process.pid}`;
  const a = admin();
  await a.connect();
  await a.query(`create table if not exists ${table} (token text not null)`);
  t.after(async () => {
    await a.query(`drop table if exists ${table}`).catch(() => undefined);
    await a.end();
  });
  await withProxy(async (proxy, endpoint) => {
    const pool = new Pool({ ...endpoint, max: 1, lifeline: { verifyAfterMs: 300 } });
    pool.on('error', () => {});
    try {
      await pool.query('select 1');
      const [id] = proxy.connections().map((c) => c.id);
      assert.ok(id !== undefined);
      // The session's last activity clearly predates the statement.
      await sleep(1500);
      // Everything the client sends on that connection from now on is held 4 s, then delivered.
      proxy.addToxic({
        name: 'hold',
        type: 'latency',
        stream: 'upstream',
        attributes: { latency: 4000 },
        target: { connection: id },
      });
      const token = randomUUID();
      const result = await pool.query(`insert into ${table} values ($1)`, [token]).then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
      // Wait until the held bytes (and the close) have gone through the proxy.
      for (let i = 0; i < 400 && proxy.connections().some((c) => c.id === id); i++) await sleep(25);
      assert.ok(!proxy.connections().some((c) => c.id === id), 'the held connection is gone');
      await sleep(200);
      const { rows } = await a.query(`select count(*)::int as n from ${table} where token = $1`, [token]);
      // Ended before its bytes arrived: the retry ran it once, the held copy had no session to run in.
      assert.equal(result, 'ok');
      assert.equal(rows[0].n, 1);
      assert.ok(pool.protectionStats().neverReceived >= 1, JSON.stringify(pool.protectionStats()));
    } finally {
      await pool.end();
    }
  });
});
