// Behaviours of a lifeline-net/pg Pool behind a fault proxy that must hold over plain TCP and over TLS alike:
// faults.test.ts runs them against the shared server, tls.test.ts against an ssl=on cluster.
import assert from 'node:assert/strict';
import { OutcomeUnknownError, PgConnectionLostError, type Pool } from '../../../src/adapters/pg/index.js';
import type { FaultProxy } from '../../../src/faults/index.js';

/** Pool config the behaviours below need on top of the connection settings. */
export const CHECKED_OUT_DEATH = { max: 2 };
// safeReads off: the stalled statement is a SELECT, which safe reads would run again (and stall again).
export const WRITE_STALL = { max: 1, lifeline: { writeStallMs: 300, safeReads: false } };

/** A reset under a checked-out client rejects its running and its next query; nothing is emitted uncaught. */
export async function checkedOutDeathIsAQueryError(pool: Pool, proxy: FaultProxy): Promise<void> {
  // Busy: the query in flight gets the error. Not a read: a read would run again elsewhere (safe reads).
  const busy = await pool.connect();
  const running = busy.query('do $$ begin perform pg_sleep(30); end $$');
  await new Promise((r) => setTimeout(r, 50));
  // Idle but checked out: the classic pg crash is an 'error' event on this client with no listener.
  const holding = await pool.connect();
  proxy.closeAll('reset');
  await assert.rejects(running, OutcomeUnknownError);
  await new Promise<void>((resolve) => holding.once('end', resolve));
  await assert.rejects(holding.query('select 1'), PgConnectionLostError);
  busy.release();
  holding.release();
  assert.equal((await pool.query('select 2 as n')).rows[0].n, 2);
}

/** A server that stops reading: the large write stalls and kills the connection (write-stall), then the pool recovers. */
export async function stalledWriteKillsTheConnection(pool: Pool, proxy: FaultProxy): Promise<void> {
  assert.equal((await pool.query('select 1 as n')).rows[0].n, 1);
  proxy.addToxic({ name: 'stall', type: 'stall_reads', stream: 'upstream', attributes: { duration: 0 } });
  // Large enough to fill both kernels' socket buffers and back up in Node.
  const big = 'x'.repeat(32 * 1024 * 1024);
  await assert.rejects(pool.query('select length($1::text) as n', [big]), (e: Error) => {
    assert.ok(e instanceof OutcomeUnknownError, String(e));
    assert.equal((e.cause as { code?: string }).code, 'LIFELINE_WRITE_STALL');
    return true;
  });
  proxy.removeToxic('stall');
  assert.equal((await pool.query('select 1 as n')).rows[0].n, 1);
}
