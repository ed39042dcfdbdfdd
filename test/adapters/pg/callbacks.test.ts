// A throw inside a user's callback (an assertion in a test, a bug) reaches the process as pg makes it reach
// it: pg calls callbacks from its own stack, so the throw is an uncaught exception. A promise chain inside the
// pool would turn it into an unhandled rejection instead (or swallow it). Each call runs in a child process,
// on pg.Pool and on lifeline's Pool, and both must report the same.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireService } from '../../support/services.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/throwing-callback.ts', import.meta.url));

async function howItThrew(which: 'pg' | 'lifeline', call: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, which, call], {
    timeout: 15_000,
  });
  return stdout.trim();
}

describe('a throw inside a user callback', () => {
  for (const call of [
    'pool.connect',
    'pool.connect after end',
    'pool.query',
    'pool.query values',
    'pool.query error',
    'client.query',
  ]) {
    test(`${call}: thrown as pg throws it`, { timeout: 30_000 }, async (t) => {
      if (!(await requireService(t, 'postgres'))) return;
      const [theirs, ours] = await Promise.all([howItThrew('pg', call), howItThrew('lifeline', call)]);
      assert.equal(theirs, 'uncaught exception: assertion in callback');
      assert.equal(ours, theirs);
    });
  }
});
