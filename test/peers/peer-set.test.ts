// PeerSet with in-process peers (the transport is an async function, as a user's would be): the state
// machine against a virtual clock, PeerLostError, adaptive timeouts and late answers, outlier ejection
// with its cap, quorum with alternates and throttled hedges, the incident log, membership changes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { DeadlineExceededError, ExecAbortedError } from '../../src/exec/index.js';
import {
  PeerLostError,
  PeerSet,
  PeerSetClosedError,
  PeerSlowError,
  phiOf,
  QuorumFailedError,
} from '../../src/peers/index.js';
import { LiveSocket } from '../../src/socket/index.js';
import { collectLines, makePeers, refused, transport, virtualClock } from './support.js';

const T = { timeout: 20_000 };

// The set's timers are unref'd (a PeerSet never keeps a process alive); this keeps the test's loop alive.
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

test(
  'silence past the threshold: suspect, then down with one event; the outstanding call fails at once',
  T,
  async () => {
    const clock = virtualClock();
    const log = collectLines();
    const set = new PeerSet<string>({
      members: ['a', 'b'],
      clock: clock.now,
      checkIntervalMs: 0,
      logger: log.logger,
    });
    const states: string[] = [];
    set.on('state', (e) => states.push(`${e.key}:${e.from}->${e.to}:${e.reason}`));
    let aborted: unknown;
    const call = set.call('a', (_peer, signal) => {
      signal.addEventListener('abort', () => {
        aborted = signal.reason;
      });
      return new Promise<never>(() => {});
    });
    // Replies (signs of life) every 1000 ms while the call is outstanding, then silence.
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      set.heartbeat('a');
      set.check();
    }
    assert.deepEqual(states, []);
    const d = { mean: 1000 + 3000, sd: 100 };
    let checks = 0;
    while (set.state('a') !== 'down') {
      clock.advance(100);
      set.check();
      checks++;
      assert.ok(checks < 1000, 'bounded');
    }
    // The first 100 ms step where phi reaches 3 (suspect) and 8 (down), from the formula (mean 1000 + pause).
    const first = (threshold: number): number => {
      let n = 1;
      while (phiOf(n * 100, d.mean, d.sd) < threshold) n++;
      return n;
    };
    assert.equal(checks, first(8));
    assert.deepEqual(states, ['a:up->suspect:phi', 'a:suspect->down:phi']);
    const error = await call.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PeerLostError);
    assert.equal(error.code, 'LIFELINE_PEER_LOST');
    assert.equal(error.evidence.cause, 'phi');
    assert.ok(error.evidence.phi >= 8);
    assert.equal(error.evidence.lastHeardAgoMs, checks * 100);
    assert.equal(aborted, error, "the transport's signal is aborted with the same error");
    assert.deepEqual(set.usable(), ['b']);
    await assert.rejects(
      set.call('a', async () => 1),
      PeerLostError,
      'a down peer fails calls at once',
    );
    // b was idle throughout: without heartbeats, silence only counts while a call is outstanding.
    assert.equal(set.state('b'), 'up');
    set.close();
    assert.equal(log.lines.length, 1, 'one line for the incident');
    assert.match(log.lines[0]!.message, /peer a: 1 × down:phi/);
  },
);

test(
  'heartbeats: a silent peer goes down, and comes back only after recoverAfter heartbeats',
  T,
  async () => {
    let answering = true;
    let sinceDown = -1;
    const set = new PeerSet<string>({
      members: ['a', 'b'],
      heartbeat: {
        intervalMs: 5,
        send: async (peer, signal) => {
          if (peer === 'a' && sinceDown >= 0) sinceDown++;
          if (peer === 'a' && !answering) await once(signal, 'abort');
        },
      },
      detector: { acceptableHeartbeatPauseMs: 20, minStdDeviationMs: 5, firstHeartbeatEstimateMs: 5 },
      recoverAfter: 3,
      checkIntervalMs: 5,
      logger: () => {},
    });
    const transitions: string[] = [];
    const down = new Promise<void>((resolve) =>
      set.on('state', (e) => {
        transitions.push(`${e.key}:${e.to}`);
        if (e.to === 'down') resolve();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    answering = false;
    await down;
    sinceDown = 0;
    answering = true;
    const up = new Promise<number>((resolve) => set.on('state', (e) => e.to === 'up' && resolve(sinceDown)));
    const heartbeatsToRecover = await up;
    assert.ok(heartbeatsToRecover >= 3, `came back after ${heartbeatsToRecover} heartbeats`);
    assert.deepEqual(
      transitions.filter((t) => t.startsWith('b')),
      [],
    );
    assert.equal(transitions.filter((t) => t === 'a:down').length, 1);
    set.close();
  },
);

test('a refused call is as good as a death event: down at once, other calls to it fail', T, async () => {
  const set = new PeerSet<string>({ members: ['a'], checkIntervalMs: 0, logger: () => {} });
  const hanging = set.call('a', () => new Promise<never>(() => {}));
  await assert.rejects(
    set.call('a', async () => {
      throw refused();
    }),
    /ECONNREFUSED/,
  );
  const lost = await hanging.catch((e: unknown) => e);
  assert.ok(lost instanceof PeerLostError);
  assert.equal(lost.evidence.cause, 'connection');
  set.close();
});

test("a LiveSocket's death marks its peer down", T, async () => {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const set = new PeerSet<string>({ members: ['db'], checkIntervalMs: 0, logger: () => {} });
  const socket = LiveSocket.connect({ host: '127.0.0.1', port });
  set.watch('db', socket);
  const call = set.call('db', () => new Promise<never>(() => {}));
  const error = await call.catch((e: unknown) => e);
  assert.ok(error instanceof PeerLostError);
  assert.equal(error.evidence.cause, 'connection');
  assert.equal(set.state('db'), 'down');
  await socket.close();
  server.close();
  set.close();
});

test(
  'adaptive timeout: a peer much slower than the others is given up on; its late answer is counted, not logged',
  T,
  async () => {
    const { names, behaviour } = makePeers(5, 2);
    const log = collectLines();
    const set = new PeerSet<string>({
      members: names,
      slowCallFactor: 5,
      minCallTimeoutMs: 30,
      logger: log.logger,
      logWindowMs: 10,
    });
    const call = transport(behaviour);
    for (let i = 0; i < 10; i++) await Promise.all(names.map((n) => set.call(n, call)));
    Object.assign(behaviour.get('p4')!, { delayMs: 400, ignoreSignal: true });
    const late = once(set, 'late');
    const logged = log.next('failing');
    const error = await set.call('p4', call).catch((e: unknown) => e);
    assert.ok(error instanceof PeerSlowError);
    assert.equal(error.code, 'LIFELINE_PEER_SLOW');
    assert.ok(error.timeoutMs >= 30 && error.timeoutMs < 400);
    const [event] = (await late) as [{ key: string; ok: boolean }];
    assert.deepEqual([event.key, event.ok], ['p4', true]);
    assert.equal(set.stats().lateReplies, 1);
    assert.equal(set.stats().slow, 1);
    await logged;
    assert.equal(log.lines.length, 1, 'the give-up is logged once; the late answer is not');
    assert.match(log.lines[0]!.message, /p4: 1 × LIFELINE_PEER_SLOW/);
    set.close();
  },
);

test('outlier ejection: persistent failers are ejected, at most 10 % of the set (but one)', T, async () => {
  const { names, behaviour } = makePeers(10, 1);
  for (const n of ['p0', 'p1', 'p2'])
    behaviour.get(n)!.fail = Object.assign(new Error('boom'), { code: 'E500' });
  const set = new PeerSet<string>({ members: names, logger: () => {} });
  const ejected: string[] = [];
  set.on('eject', (e) => ejected.push(e.key));
  const call = transport(behaviour);
  for (let i = 0; i < 6; i++) {
    await Promise.all(['p0', 'p1', 'p2'].map((n) => set.call(n, call).catch(() => {})));
  }
  assert.equal(ejected.length, 1);
  assert.equal(set.stats().ejected, 1);
  assert.equal(set.usable().length, 9);
  assert.ok(!set.usable().includes(ejected[0]!));
  assert.equal(set.peerStats(ejected[0]!)?.timesEjected, 1);
  set.close();
});

test('quorum: k answers from the best peers, alternates after failures, the rest aborted', T, async () => {
  const { names, behaviour } = makePeers(10, 2);
  const set = new PeerSet<string>({ members: names, logger: () => {}, hedge: { delayMs: 10_000 } });
  const call = transport(behaviour);
  for (let i = 0; i < 3; i++) await Promise.all(names.map((n) => set.call(n, call)));
  // The three fastest fail: quorum must finish from alternates.
  for (const n of names) behaviour.get(n)!.delayMs = 5;
  for (const n of ['p0', 'p1', 'p2']) {
    behaviour.get(n)!.delayMs = 1;
    behaviour.get(n)!.fail = Object.assign(new Error('gone'), { code: 'E503' });
  }
  const results = await set.quorum(3, call);
  assert.equal(results.length, 3);
  for (const r of results) assert.ok(!['p0', 'p1', 'p2'].includes(r.peer));
  assert.deepEqual(
    results.map((r) => r.value),
    results.map((r) => r.peer),
  );
  assert.equal(set.stats().quorums, 1);
  set.close();
});

test(
  'quorum hedges past the delay while the throttle allows, and stops when failures drain it',
  T,
  async () => {
    const { names, behaviour } = makePeers(6, 2);
    const set = new PeerSet<string>({
      members: names,
      logger: () => {},
      hedge: { delayMs: 200, maxTokens: 4 },
      minCallTimeoutMs: 10_000,
    });
    const call = transport(behaviour);
    for (let i = 0; i < 3; i++) await Promise.all(names.map((n) => set.call(n, call)));
    const slow = set.candidates()[0]!;
    behaviour.get(slow)!.delayMs = 5000;
    const aborts: string[] = [];
    const watched = async (peer: string, signal: AbortSignal): Promise<string> => {
      signal.addEventListener('abort', () => aborts.push(peer));
      return call(peer, signal);
    };
    const [first] = await set.quorum(1, watched);
    assert.notEqual(first!.peer, slow);
    assert.equal(set.stats().hedges, 1);
    assert.deepEqual(aborts, [slow], 'the slow attempt was told never mind');
    const order = set.candidates();
    assert.equal(order[order.length - 1], slow, 'the peer that lost to a hedge is now asked last');
    // Failures take tokens: at or below half of maxTokens no hedge is sent.
    // (4 tokens at most; 3 failed calls leave at most 1 + a few tenths.)
    const failing = async (): Promise<string> => {
      throw Object.assign(new Error('overloaded'), { code: 'E503' });
    };
    for (let i = 0; i < 3; i++) await set.call(names[i]!, failing).catch(() => {});
    for (const n of names) behaviour.get(n)!.delayMs = 400;
    await set.quorum(1, watched);
    assert.equal(set.stats().hedges, 1);
    assert.equal(set.stats().hedgesThrottled, 1);
    set.close();
  },
);

test('any(), all(), and the ways a quorum fails', T, async () => {
  const { names, behaviour } = makePeers(4, 2);
  const set = new PeerSet<string>({ members: names, logger: () => {} });
  const call = transport(behaviour);
  assert.ok(names.includes((await set.any(call)).peer));
  assert.deepEqual((await set.all(call)).map((r) => r.peer).sort(), names);
  await assert.rejects(set.quorum(5, call), (e: unknown) => e instanceof QuorumFailedError && e.usable === 4);
  behaviour.get('p0')!.fail = new Error('x');
  behaviour.get('p1')!.fail = new Error('y');
  const failed = await set.quorum(3, call).catch((e: unknown) => e);
  assert.ok(failed instanceof QuorumFailedError);
  assert.equal(failed.code, 'LIFELINE_QUORUM_FAILED');
  assert.equal(failed.errors.length, 2);
  assert.ok(failed.succeeded <= 2);
  behaviour.get('p2')!.silent = true;
  behaviour.get('p3')!.silent = true;
  await assert.rejects(
    set.quorum(2, call, { deadlineMs: 50, hedgeDelayMs: Number.POSITIVE_INFINITY }),
    DeadlineExceededError,
  );
  const controller = new AbortController();
  const aborted = set.quorum(1, call, { signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, ExecAbortedError);
  await assert.rejects(set.quorum(0, call), InvalidOptionError);
  await assert.rejects(set.quorum(1, call, { deadline: 5 } as never), InvalidOptionError);
  set.close();
  await assert.rejects(set.quorum(1, call), PeerSetClosedError);
});

test(
  'a burst of identical failures is one line with a count and a time range, then one recovered line',
  T,
  async () => {
    const { names, behaviour } = makePeers(2, 1);
    const log = collectLines();
    const set = new PeerSet<string>({
      members: names,
      logger: log.logger,
      logWindowMs: 30,
      outlier: { consecutiveFailures: 1000 },
    });
    const call = transport(behaviour);
    behaviour.get('p0')!.fail = Object.assign(new Error('busy'), { code: 'EBUSY' });
    const failing = log.next('failing');
    for (let i = 0; i < 20; i++) await set.call('p0', call).catch(() => {});
    await failing;
    for (let i = 0; i < 5; i++) await set.call('p0', call).catch(() => {});
    behaviour.get('p0')!.fail = undefined;
    const recovered = log.next('recovered');
    await set.call('p0', call);
    const line = await recovered;
    assert.equal(log.lines.length, 2);
    // The line is written when the window closes: with the count so far (the loop may still be running).
    assert.ok(log.lines[0]!.count >= 1 && log.lines[0]!.count <= 20, `count ${log.lines[0]!.count}`);
    assert.ok(log.lines[0]!.lastAt >= log.lines[0]!.firstAt);
    assert.match(log.lines[0]!.message, /^peer p0: \d+ × EBUSY between \d\d:\d\d:\d\d\.\d{3} and /);
    assert.equal(line.count, 25);
    assert.match(line.message, /peer p0 recovered after 25 × EBUSY/);
    set.close();
  },
);

test('add and remove: a removed peer fails its outstanding calls; options are checked', T, async () => {
  const set = new PeerSet<string>({ checkIntervalMs: 0, logger: () => {} });
  const events: string[] = [];
  set.on('added', (e) => events.push(`+${e.key}`));
  set.on('removed', (e) => events.push(`-${e.key}`));
  set.add('a');
  set.add('a');
  set.add('b');
  const pending = set.call('a', () => new Promise<never>(() => {}));
  assert.equal(set.remove('a'), true);
  assert.equal(set.remove('a'), false);
  const error = await pending.catch((e: unknown) => e);
  assert.ok(error instanceof PeerLostError && error.evidence.cause === 'removed');
  assert.deepEqual(events, ['+a', '+b', '-a']);
  assert.deepEqual(set.peers(), ['b']);
  await assert.rejects(
    set.call('zz', async () => 1),
    InvalidOptionError,
  );
  set.close();
  assert.throws(() => new PeerSet({ slowCallFactor: 0 }), InvalidOptionError);
  assert.throws(() => new PeerSet({ minCallTimeoutMs: 10, maxCallTimeoutMs: 5 }), InvalidOptionError);
  assert.throws(() => new PeerSet({ members: {} as never }), InvalidOptionError);
  assert.throws(() => new PeerSet<{ id: number }>({ members: [{ id: 1 }] }), /key/);
});

test(
  'without heartbeats a down peer gets a trial after retryDownAfterMs, and one answer brings it back',
  T,
  async () => {
    const clock = virtualClock();
    const set = new PeerSet<string>({
      members: ['a'],
      clock: clock.now,
      checkIntervalMs: 0,
      retryDownAfterMs: 5000,
      logger: () => {},
    });
    const moves: string[] = [];
    set.on('state', (e) => moves.push(`${e.from}->${e.to}`));
    await set
      .call('a', async () => {
        throw refused();
      })
      .catch(() => {});
    assert.equal(set.state('a'), 'down');
    clock.advance(4999);
    set.check();
    assert.equal(set.state('a'), 'down');
    clock.advance(1);
    set.check();
    assert.equal(set.state('a'), 'suspect');
    assert.equal(await set.call('a', async () => 'ok'), 'ok');
    assert.deepEqual(moves, ['up->down', 'down->suspect', 'suspect->up']);
    set.close();
  },
);
