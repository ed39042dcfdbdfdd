// Hedging through the set's one hedge timer, which goes through the outstanding attempts (each carries when
// its hedge is due): every attempt of a hedging quorum gets one hedge, alternates and hedges included, in
// the order the quorum asks its peers; a call() is never hedged; a quorum that ended sends no more.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PeerSet } from '../../src/peers/index.js';

const T = { timeout: 20_000 };
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

/** A call that settles only when its signal aborts (rejecting with the reason), recording what it saw. */
function hanging(asked: string[], aborted: string[]) {
  return (peer: string, signal: AbortSignal): Promise<string> =>
    new Promise((_resolve, reject) => {
      asked.push(peer);
      signal.addEventListener('abort', () => {
        aborted.push(peer);
        reject(signal.reason);
      });
    });
}

test('every attempt of a quorum is hedged once, hedges included, until one answers', T, async () => {
  const names = ['p0', 'p1', 'p2', 'p3'];
  const set = new PeerSet<string>({ members: names, logger: () => {}, minCallTimeoutMs: 10_000 });
  const order = set.candidates();
  const asked: string[] = [];
  const aborted: string[] = [];
  const hang = hanging(asked, aborted);
  const last = order[3]!;
  // The first three never answer; the last one asked answers at once: only hedges of hedges reach it.
  const fn = (peer: string, signal: AbortSignal): Promise<string> => {
    if (peer !== last) return hang(peer, signal);
    asked.push(peer);
    return Promise.resolve(peer);
  };
  const [result] = await set.quorum(1, fn, { hedgeDelayMs: 5 });
  assert.equal(result!.peer, last);
  assert.deepEqual(asked, order, 'asked in the order, one hedge after another');
  assert.equal(set.stats().hedges, 3);
  assert.deepEqual(aborted.sort(), order.slice(0, 3).sort(), 'the hedged attempts were told never mind');
  set.close();
});

test('a call() past the hedge delay is never hedged, and an ended quorum sends no hedge', T, async () => {
  const names = ['p0', 'p1', 'p2'];
  const set = new PeerSet<string>({
    members: names,
    logger: () => {},
    minCallTimeoutMs: 10_000,
    hedge: { delayMs: 5 },
  });
  const asked: string[] = [];
  const aborted: string[] = [];
  const controller = new AbortController();
  const call = set.call('p0', hanging(asked, aborted), { signal: controller.signal });
  // A quorum that fails at once (its only peer's call throws): its attempt is over before any hedge is due.
  const failing = (): Promise<string> => Promise.reject(new Error('no'));
  await assert.rejects(set.quorum(3, failing));
  // Several hedge delays pass while the call is outstanding (the hedge timer runs in them if it is armed).
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(set.stats().hedges, 0);
  assert.equal(set.stats().hedgesThrottled, 0);
  assert.deepEqual(asked, ['p0'], 'nothing else was asked');
  controller.abort();
  await assert.rejects(call);
  assert.deepEqual(aborted, ['p0']);
  set.close();
});
