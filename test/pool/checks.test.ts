// The one dead-check (checks.ts): the pre-handout check after an event-loop turn runs the same check as a
// handout, so a resource that passed its lifetime during that turn is retired, not lent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../src/pool/index.js';
import { type Token, tokenFactory } from './support.js';

const T = { timeout: 10_000 };

/** Blocks the event loop for `ms` (bounded): time passes with no turn in between. */
function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

test(
  'a resource whose lifetime ends during its pre-handout check is retired, the caller gets a new one',
  T,
  async () => {
    const factory = tokenFactory();
    const pool = new Pool<Token>({
      factory,
      max: 1,
      maxLifetimeMs: 200,
      lifetimeJitter: 0,
      validateAfterIdleMs: 0, // every handout of an idle resource goes through the check
    });
    pool.release(await pool.acquire());
    const first = factory.created[0];
    const acquiring = pool.acquire();
    // takeIdle found it within its lifetime; the check waits for a turn, and the lifetime ends before it.
    blockFor(250);
    const token = await acquiring;
    assert.notEqual(token, first);
    assert.equal(token, factory.created[1]);
    assert.equal(pool.stats().evicted.lifetime, 1);
    pool.release(token);
    await pool.drain();
  },
);
