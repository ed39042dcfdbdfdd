/**
 * lifeline-net/mysql under injected faults: the fault proxy sits between the pool and the real MariaDB.
 * Each fault runs while a bounded workload of unique-id INSERTs and `select 1`s runs: no INSERT applied
 * twice, every acknowledged one stored, every select answered. No timing thresholds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool } from '../../../src/adapters/mysql/promise.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { checkOutcome, dropTable, freshTable, type Ops, runLoad, sleep, withProxy } from './support.js';

const faults: Record<string, (proxy: FaultProxy) => Promise<void>> = {
  async 'connection resets'(proxy) {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy.closeAll('reset');
    }
  },
  async 'FINs from the server side'(proxy) {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy.closeAll('fin');
    }
  },
  async 'a lifetime cut of every connection'(proxy) {
    proxy.addToxic({
      name: 'lifetime',
      type: 'lifetime',
      stream: 'downstream',
      attributes: { lifetime: 60 },
    });
    await sleep(400);
    proxy.removeToxic('lifetime');
  },
  async 'a stall of the replies'(proxy) {
    proxy.addToxic({
      name: 'stall',
      type: 'stall_reads',
      stream: 'downstream',
      attributes: { duration: 300 },
    });
    await sleep(400);
    proxy.removeToxic('stall');
  },
  async 'a middlebox that swallows requests'(proxy) {
    // One pool connection swallows every request from then on and stays open and silent; new connections
    // (the pool's next one, the verifier's question) pass.
    await sleep(40);
    const newest = Math.max(...proxy.connections().map((c) => c.id));
    proxy.addToxic({
      name: 'swallow',
      type: 'timeout',
      stream: 'upstream',
      attributes: { timeout: 0 },
      target: { connection: newest },
    });
    await sleep(1000);
  },
  async 'a middlebox that swallows replies'(proxy) {
    await sleep(40);
    const newest = Math.max(...proxy.connections().map((c) => c.id));
    proxy.addToxic({
      name: 'swallow',
      type: 'timeout',
      stream: 'downstream',
      attributes: { timeout: 0 },
      target: { connection: newest },
    });
    await sleep(1000);
  },
  async 'a server restart'(proxy) {
    await sleep(40);
    proxy.disable();
    await sleep(300);
    await proxy.enable();
  },
};

describe('lifeline-net/mysql through the fault proxy', () => {
  for (const [name, inject] of Object.entries(faults)) {
    test(`${name}: no INSERT doubled, every select answered`, { timeout: 60_000 }, async (t) => {
      await withProxy(t, async (proxy, endpoint) => {
        const table = await freshTable();
        const pool = createPool({
          ...endpoint,
          connectionLimit: 4,
          lifeline: { verifyAfterMs: 500, acquireTimeoutMs: 5000 },
        });
        const ops: Ops = {
          insert: (tbl, id) => pool.query(`insert into ${tbl} (id, n) values (?, 1)`, [id]),
          select: async () => (await pool.query('select 1 as one'))[0],
        };
        try {
          let running = true;
          // Bounded: at most 400 rounds, and it stops soon after the fault is over.
          const load = runLoad(ops, table, 400, 6, () => running);
          await sleep(50);
          await inject(proxy);
          await sleep(200);
          running = false;
          const outcome = await load;
          assert.ok(outcome.inserted.length > 0, 'the workload ran');
          await checkOutcome(table, outcome);
        } finally {
          await pool.end();
          await dropTable(table);
        }
      });
    });
  }
});
