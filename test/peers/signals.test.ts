// Signal reuse (attempt.ts giveBack): a signal whose call answered, never aborted and with no abort listener
// left on it serves a later call; one that still has an abort listener (added, or set as onabort) never
// does, while a listener of another type does not matter. The check reads Node's listener map when it can
// and falls back to events.getEventListeners: both must give the same answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerSet } from '../../src/peers/index.js';

const T = { timeout: 20_000 };

/** Runs quorum(1) twice with `first` then a plain call; returns whether the second got the first's signal. */
async function reused(set: PeerSet<string>, first: (signal: AbortSignal) => void): Promise<boolean> {
  const seen: AbortSignal[] = [];
  const fn = (peer: string, signal: AbortSignal): Promise<string> => {
    seen.push(signal);
    if (seen.length === 1) first(signal);
    return new Promise((resolve) => setImmediate(resolve, peer));
  };
  await set.quorum(1, fn, { hedgeDelayMs: Number.POSITIVE_INFINITY });
  await set.quorum(1, fn, { hedgeDelayMs: Number.POSITIVE_INFINITY });
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.aborted, false);
  return seen[0] === seen[1];
}

test('a signal is handed out again only when no abort listener is left on it', T, async () => {
  const set = new PeerSet<string>({ members: ['p0', 'p1'], logger: () => {} });
  const listener = (): void => {};
  assert.equal(await reused(set, () => {}), true, 'untouched: reused');
  assert.equal(
    await reused(set, (signal) => signal.addEventListener('abort', listener)),
    false,
    'an abort listener left on it: not reused',
  );
  assert.equal(
    await reused(set, (signal) => {
      signal.addEventListener('abort', listener);
      signal.removeEventListener('abort', listener);
    }),
    true,
    'its listener removed: reused',
  );
  assert.equal(
    await reused(set, (signal) => {
      signal.onabort = listener;
    }),
    false,
    'an onabort handler left on it: not reused',
  );
  assert.equal(
    await reused(set, (signal) => signal.addEventListener('other', listener)),
    true,
    'a listener of another type only: reused (it never runs on abort)',
  );
  set.close();
});
