import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../src/pool/index.js';
import { preferIdle } from '../../src/pool/prefer.js';

interface Res {
  id: number;
}

async function poolWithIdle(idleOrder: 'lifo' | 'fifo'): Promise<Pool<Res>> {
  let next = 0;
  const pool = new Pool<Res>({
    max: 4,
    idleOrder,
    factory: { create: async () => ({ id: next++ }), destroy: async () => {}, alive: () => true },
  });
  const held = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
  for (const r of held) pool.release(r); // idle, released in the order 0, 1, 2
  return pool;
}

for (const order of ['lifo', 'fifo'] as const) {
  test(`preferIdle (${order}): the accepted idle resource is taken next, the others keep their order`, async () => {
    const pool = await poolWithIdle(order);
    try {
      assert.equal(
        preferIdle(pool, (r) => r.id === 1),
        true,
      );
      const taken = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
      for (const r of taken) pool.release(r);
      assert.deepEqual(
        taken.map((r) => r.id),
        order === 'lifo' ? [1, 2, 0] : [1, 0, 2],
      );
    } finally {
      await pool.drain();
    }
  });

  test(`preferIdle (${order}): none accepted leaves the order as it was and says so`, async () => {
    const pool = await poolWithIdle(order);
    try {
      assert.equal(
        preferIdle(pool, () => false),
        false,
      );
      const taken = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
      for (const r of taken) pool.release(r);
      assert.deepEqual(
        taken.map((r) => r.id),
        order === 'lifo' ? [2, 1, 0] : [0, 1, 2],
      );
    } finally {
      await pool.drain();
    }
  });
}

test('preferIdle: with nothing idle it does nothing', async () => {
  const pool = new Pool<Res>({
    max: 1,
    factory: { create: async () => ({ id: 0 }), destroy: async () => {}, alive: () => true },
  });
  try {
    const r = await pool.acquire();
    assert.equal(
      preferIdle(pool, () => true),
      false,
    );
    pool.release(r);
  } finally {
    await pool.drain();
  }
});
