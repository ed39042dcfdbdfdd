// A client's lifetime is the core pool's (maxLifetimeSeconds with lifeline.lifetimeJitter), and expiredCount
// reports exactly the clients that release will retire for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { Pool } from '../../../src/adapters/pg/index.js';
import { preciseNow } from '../../../src/core/time.js';
import { requireService } from '../../support/services.js';
import { connection, sleep } from './support.js';

test('expiredCount counts a lent client as expired exactly when its release retires it for its lifetime', {
  timeout: 20_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const max = 8;
  // Lifetimes drawn from [1 s, 2 s]: halfway through, about half of the clients are past theirs.
  const pool = new Pool({ ...connection(), max, maxLifetimeSeconds: 2, lifeline: { lifetimeJitter: 0.5 } });
  const retired = new Set<pg.PoolClient>();
  pool.on('remove', (client: pg.PoolClient) => retired.add(client));
  try {
    const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
    await sleep(1500);
    const counted: boolean[] = [];
    const retiredOnRelease: boolean[] = [];
    for (const client of clients) {
      // Both readings on one instant: preciseNow() refreshes the pool's turn-cached clock, which then serves
      // the next 32 reads unchanged (expiredCount and release read it a dozen times). Without it the cache
      // could refresh between the two, and a client whose lifetime ended in that gap (likely on a loaded CI
      // machine) was retired without having been counted: a race of the test, not of the pool.
      preciseNow();
      const before = pool.expiredCount;
      client.release();
      counted.push(before - pool.expiredCount === 1);
      retiredOnRelease.push(retired.has(client));
    }
    assert.deepEqual(
      counted,
      retiredOnRelease,
      'counted as expired = retired when released, client by client',
    );
    assert.equal(pool.expiredCount, 0);
  } finally {
    await pool.end();
  }
});
