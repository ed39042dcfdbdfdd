// The 'acquire' and 'release' events on the hot path: the pool keeps flags of whether anyone listens instead
// of asking the emitter per call, so every way of adding and removing a listener must keep them true.
import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { Pool } from '../../src/pool/index.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 10_000 };

async function cycle(pool: Pool<Token>): Promise<void> {
  pool.release(await pool.acquire());
}

test(
  'acquire/release events arrive through on, once, prepend and events.once, and stop after off',
  T,
  async () => {
    const pool = new Pool<Token>({ factory: tokenFactory(), max: 1 });
    const seen: string[] = [];
    const onAcquire = (): void => {
      seen.push('acquire');
    };
    pool.on('acquire', onAcquire);
    pool.prependListener('release', () => seen.push('release'));
    pool.once('acquire', () => seen.push('acquire-once'));
    await cycle(pool);
    assert.deepEqual(seen, ['acquire', 'acquire-once', 'release']);
    pool.off('acquire', onAcquire);
    await cycle(pool);
    assert.deepEqual(seen.slice(3), ['release']);
    const acquired = once(pool, 'acquire');
    await cycle(pool);
    assert.equal((await acquired).length, 1);
    await pool.drain();
  },
);

test('after removeAllListeners(), listeners added again still get every event', T, async () => {
  const pool = new Pool<Token>({ factory: tokenFactory(), max: 1 });
  let acquires = 0;
  let releases = 0;
  pool.on('acquire', () => acquires++);
  pool.on('release', () => releases++);
  // A 'removeListener' listener makes removeAllListeners() remove one by one.
  (pool as EventEmitter).on('removeListener', () => {});
  await cycle(pool);
  pool.removeAllListeners();
  await cycle(pool);
  assert.deepEqual([acquires, releases], [1, 1]);
  pool.addListener('acquire', () => acquires++);
  pool.prependOnceListener('release', () => releases++);
  await cycle(pool);
  await cycle(pool);
  assert.deepEqual([acquires, releases], [3, 2]);
  pool.removeAllListeners('acquire');
  await cycle(pool);
  assert.equal(acquires, 3);
  await pool.drain();
});
