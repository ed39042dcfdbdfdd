// quorum()'s hot path: a call function that declares no signal parameter is handed one shared signal that
// never aborts (no AbortController per attempt), one that declares it gets its own, aborted when not needed;
// the set's one give-up timer serves every outstanding call (each given up on at its own deadline, re-armed
// for the next); the quorum's one hedge timer serves its attempts; peers are picked in the candidates() order.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeerSet, PeerSlowError } from '../../src/peers/index.js';
import { makePeers, transport } from './support.js';

const T = { timeout: 20_000 };
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

test('a call function without a signal parameter gets one shared signal; with one, its own', T, async () => {
  const { names, behaviour } = makePeers(5, 1);
  const set = new PeerSet<string>({ members: names, logger: () => {} });
  const call = transport(behaviour);
  // Reads the signal without declaring it (as a rest parameter would): what a one-parameter function gets.
  const seen: AbortSignal[] = [];
  const plain = function (this: unknown, peer: string): Promise<string> {
    // biome-ignore lint/complexity/noArguments: reading the undeclared argument is the point of the test
    seen.push(arguments[1] as AbortSignal);
    return call(peer, new AbortController().signal);
  };
  await set.quorum(2, plain);
  await set.quorum(2, plain);
  assert.equal(seen.length, 4);
  assert.equal(new Set(seen).size, 1, 'one shared signal for every attempt');
  assert.equal(seen[0]!.aborted, false);
  // Declared: its own signal per attempt, aborted for the attempt no longer needed.
  behaviour.get('p4')!.delayMs = 5000;
  const own: AbortSignal[] = [];
  const declared = (peer: string, signal: AbortSignal): Promise<string> => {
    assert.equal(signal.aborted, false, 'a signal handed out is never already aborted');
    own.push(signal);
    return call(peer, signal);
  };
  await set.quorum(5, declared, { hedgeDelayMs: Number.POSITIVE_INFINITY }).catch(() => {});
  assert.equal(new Set(own).size, own.length, 'a signal per attempt in flight');
  const slow = own[own.length - 1]!;
  assert.equal(slow.aborted, true, "p4's attempt, no longer needed, was aborted");
  // A signal whose call answered, never aborted and with no listener left is handed to a later call
  // (Node 20 builds each signal slowly); the aborted one never is.
  const first = own.slice(0, 5);
  own.length = 0;
  await set.quorum(4, declared, { hedgeDelayMs: Number.POSITIVE_INFINITY }).catch(() => {});
  assert.equal(new Set(own).size, own.length, 'a signal per attempt in flight');
  assert.ok(!own.includes(slow), 'an aborted signal is not handed out again');
  assert.ok(
    own.some((signal) => first.includes(signal)),
    'answered calls’ signals serve the next ones',
  );
  await set.quorum(1, declared, { deadlineMs: 50 }).catch(() => {});
  set.close();
  assert.equal(seen[0]!.aborted, false, 'the shared signal never aborts');
});

test(
  'one give-up timer: calls started at different times are each given up on at their deadline',
  T,
  async () => {
    const { names, behaviour } = makePeers(3, 1);
    const set = new PeerSet<string>({
      members: names,
      logger: () => {},
      minCallTimeoutMs: 120,
      maxCallTimeoutMs: 120,
    });
    const call = transport(behaviour);
    for (const n of names) behaviour.get(n)!.silent = true;
    const ended: Array<[string, number]> = [];
    const t0 = performance.now();
    const watch = (peer: string): Promise<void> =>
      set.call(peer, call).then(
        () => assert.fail('a silent peer answered'),
        (error: unknown) => {
          assert.ok(error instanceof PeerSlowError);
          ended.push([peer, performance.now() - t0]);
        },
      );
    const first = watch('p0');
    await sleep(60);
    const second = watch('p1');
    await first;
    assert.deepEqual(
      ended.map(([p]) => p),
      ['p0'],
      'the first is given up on while the second still runs',
    );
    await second;
    assert.deepEqual(
      ended.map(([p]) => p),
      ['p0', 'p1'],
    );
    assert.ok(ended[1]![1] >= 60 + 120, 'not before its own deadline');
    assert.equal(set.stats().slow, 2);
    set.close();
  },
);

test('a quorum picks the peers candidates() lists first, and alternates in that order', T, async () => {
  const { names, behaviour } = makePeers(10, 1);
  const set = new PeerSet<string>({ members: names, logger: () => {} });
  const call = transport(behaviour);
  for (let i = 0; i < 3; i++) await Promise.all(names.map((n) => set.call(n, call)));
  const order = set.candidates();
  const asked: string[] = [];
  const failing = new Set(order.slice(0, 2));
  const fn = async (peer: string): Promise<string> => {
    asked.push(peer);
    if (failing.has(peer)) throw Object.assign(new Error('gone'), { code: 'E500' });
    return peer;
  };
  const results = await set.quorum(3, fn, { hedgeDelayMs: Number.POSITIVE_INFINITY });
  assert.deepEqual(asked, order.slice(0, 5), 'the best three, then the next two as alternates');
  assert.deepEqual(results.map((r) => r.peer).sort(), order.slice(2, 5).sort());
  // Past the pick limit (k > 8) the set is sorted once: the same order.
  asked.length = 0;
  failing.clear();
  const all = await set.all(fn);
  assert.equal(all.length, 10);
  assert.equal(new Set(asked).size, 10, 'every peer asked once');
  set.close();
});

test('a stall of this process is not the peers’ silence: no peer is judged down for it', T, async () => {
  // A heartbeat peer on a real socket in this process: its replies come through the loop's I/O phase.
  // The echo side: a reset when the client is destroyed at the end (an echo still in flight) is not a
  // failure of the test (it was an uncaught ECONNRESET after the test, 1 run in ~10).
  const server = net.createServer((socket) =>
    socket.on('data', (data) => socket.write(data)).on('error', () => {}),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const waiting: Array<() => void> = [];
  client.on('data', () => {
    for (const resolve of waiting.splice(0)) resolve();
  });
  const send = (): Promise<void> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      client.write('hb');
    });
  const set = new PeerSet<string>({
    members: ['echo'],
    logger: () => {},
    heartbeat: { intervalMs: 20, send },
    checkIntervalMs: 20,
    // A pause of 300 ms: on a loaded 2-core machine the OS alone deschedules a process for ~100 ms at times,
    // which a 100 ms pause took for a stall of its own (or let a heartbeat time out) about one run in four.
    detector: { acceptableHeartbeatPauseMs: 300, minStdDeviationMs: 10, firstHeartbeatEstimateMs: 20 },
  });
  const downs: string[] = [];
  set.on('state', (e) => {
    if (e.to === 'down') downs.push(e.key);
  });
  await sleep(300);
  // The loop blocked for 6 × the acceptable pause: the peer kept answering, nobody read it.
  const until = performance.now() + 1800;
  while (performance.now() < until) {
    // blocked
  }
  await sleep(300);
  assert.deepEqual(downs, []);
  assert.equal(set.state('echo'), 'up');
  // The stall was seen as this process's (a loaded machine may add one of its own: also a local pause).
  assert.ok(set.stats().localPauses >= 1, `localPauses ${set.stats().localPauses}`);
  set.close();
  client.destroy();
  server.close();
});

test(
  'a stall right after the check timer’s tick (its check already queued) is a local pause too',
  T,
  async () => {
    // The check timer queues the check for after the loop's I/O callbacks; a block that begins between the
    // two is not seen by the timer's lateness. Here the block is made exactly there, deterministically: a
    // timer of the same period created right after the set runs right after the set's check tick, in the
    // same pass of the timers phase, and blocks while no heartbeat is in flight (so no reply is read before
    // the queued check runs).
    // The echo side: a reset when the client is destroyed at the end (an echo still in flight) is not a
    // failure of the test (it was an uncaught ECONNRESET after the test, 1 run in ~10).
    const server = net.createServer((socket) =>
      socket.on('data', (data) => socket.write(data)).on('error', () => {}),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    const waiting: Array<() => void> = [];
    client.on('data', () => {
      for (const resolve of waiting.splice(0)) resolve();
    });
    const send = (): Promise<void> =>
      new Promise((resolve) => {
        waiting.push(resolve);
        client.write('hb');
      });
    const set = new PeerSet<string>({
      members: ['echo'],
      logger: () => {},
      heartbeat: { intervalMs: 50, send },
      checkIntervalMs: 20,
      detector: { acceptableHeartbeatPauseMs: 300, minStdDeviationMs: 10, firstHeartbeatEstimateMs: 50 },
    });
    const downs: string[] = [];
    set.on('state', (e) => {
      if (e.to === 'down') downs.push(e.key);
    });
    let ticks = 0;
    let blocked = false;
    const blocker = setInterval(() => {
      if (blocked || ++ticks < 15 || waiting.length > 0) return;
      blocked = true;
      const until = performance.now() + 1200;
      while (performance.now() < until) {
        // blocked
      }
    }, 20);
    for (let i = 0; i < 200 && !blocked; i++) await sleep(20);
    clearInterval(blocker);
    assert.ok(blocked, 'the block happened');
    await sleep(300);
    assert.deepEqual(downs, []);
    assert.equal(set.state('echo'), 'up');
    assert.ok(set.stats().localPauses >= 1, `localPauses ${set.stats().localPauses}`);
    set.close();
    client.destroy();
    server.close();
  },
);

test(
  'a call function without a signal: a failed peer still gets an alternate, whether it threw, rejected or answered a plain value',
  T,
  async () => {
    const { names, behaviour } = makePeers(6, 1);
    const set = new PeerSet<string>({ members: names, logger: () => {} });
    const call = transport(behaviour);
    for (let i = 0; i < 3; i++) await Promise.all(names.map((n) => set.call(n, call)));
    const order = set.candidates();
    const asked: string[] = [];
    // One parameter: the set makes no AbortController for it (the fast path).
    const fn = (peer: string): Promise<string> => {
      asked.push(peer);
      if (peer === order[0]) throw Object.assign(new Error('thrown before any promise'), { code: 'E_SYNC' });
      if (peer === order[1]) return Promise.reject(Object.assign(new Error('rejected'), { code: 'E503' }));
      // Not a promise at all: taken as the answer, as `await` would.
      if (peer === order[2]) return peer as unknown as Promise<string>;
      return new Promise((resolve) => setImmediate(resolve, peer));
    };
    const failuresBefore = set.stats().failures;
    const results = await set.quorum(3, fn, { hedgeDelayMs: Number.POSITIVE_INFINITY });
    assert.deepEqual(asked, order.slice(0, 5), 'the best three, then two alternates for the two failures');
    assert.deepEqual(results.map((r) => r.peer).sort(), order.slice(2, 5).sort());
    assert.deepEqual(
      results.map((r) => r.value),
      results.map((r) => r.peer),
    );
    assert.equal(set.stats().failures - failuresBefore, 2);
    set.close();
  },
);

test(
  'a call function without a signal: an answer after its quorum gave up is counted as late, not delivered',
  T,
  async () => {
    const { names } = makePeers(3, 1);
    const set = new PeerSet<string>({ members: names, logger: () => {} });
    const late: Array<{ key: string; ok: boolean }> = [];
    set.on('late', (e) => late.push({ key: e.key, ok: e.ok }));
    let answered = 0;
    const fn = (peer: string): Promise<string> =>
      new Promise((resolve) =>
        setTimeout(() => {
          answered++;
          resolve(peer);
        }, 60),
      );
    const failed = await set.quorum(1, fn, { deadlineMs: 5, hedgeDelayMs: Number.POSITIVE_INFINITY }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failed instanceof Error && failed.name === 'DeadlineExceededError', String(failed));
    assert.equal(answered, 0, 'the quorum failed at its deadline, before the answer');
    while (answered === 0) await sleep(10);
    await sleep(5);
    assert.equal(set.stats().lateReplies, 1);
    assert.deepEqual(late, [{ key: names[0]!, ok: true }]);
    set.close();
  },
);

test(
  'latency alone reorders the peers: one that turns slow is asked last once answers show it',
  T,
  async () => {
    const { names, behaviour } = makePeers(4, 1);
    const set = new PeerSet<string>({ members: names, logger: () => {}, hedge: { delayMs: 10_000 } });
    const call = transport(behaviour);
    for (let i = 0; i < 3; i++) await Promise.all(names.map((n) => set.call(n, call)));
    const first = set.candidates()[0]!;
    behaviour.get(first)!.delayMs = 40;
    // No state change, no ejection: only answers' latencies move the order (re-read every 16 answers).
    for (let i = 0; i < 10 && set.candidates()[names.length - 1] !== first; i++) {
      await Promise.all(names.map((n) => set.call(n, call)));
    }
    assert.equal(set.candidates()[names.length - 1], first);
    const asked: string[] = [];
    await set.quorum(names.length - 1, (peer: string) => {
      asked.push(peer);
      return call(peer, new AbortController().signal);
    });
    assert.ok(!asked.includes(first), `the slow peer is not among the ${names.length - 1} asked: ${asked}`);
    assert.equal(set.state(first), 'up');
    set.close();
  },
);

test(
  'attempt objects serve later calls only once done: late answers never reach a later quorum',
  T,
  async () => {
    const { names } = makePeers(4, 1);
    const set = new PeerSet<string>({ members: names, logger: () => {} });
    let round = 0;
    const slow = new Set<string>();
    let lateStarted = 0;
    // Each answer carries the round it was asked in; the slowest peer of a round answers well after it.
    const fn = (peer: string): Promise<string> => {
      const asked = `${peer}:${round}`;
      if (slow.has(peer)) {
        lateStarted++;
        return new Promise((resolve) => setTimeout(resolve, 20, asked));
      }
      return new Promise((resolve) => setImmediate(resolve, asked));
    };
    for (round = 0; round < 40; round++) {
      slow.clear();
      // The first asked is slow: a hedge to the third finishes the quorum, the slow answer comes late.
      slow.add(set.candidates()[0]!);
      const results = await set.quorum(2, fn, { hedgeDelayMs: 0 });
      assert.equal(results.length, 2);
      for (const r of results) assert.equal(r.value, `${r.peer}:${round}`, 'an answer of this round only');
    }
    // Every slow answer is counted as late (a fast one may be too, when the hedge timer beat it).
    while (set.stats().lateReplies < lateStarted) await sleep(10);
    assert.ok(set.stats().lateReplies >= lateStarted);
    assert.equal(set.stats().lateErrors, 0);
    set.close();
  },
);

test(
  'an abort listener that starts a quorum while the last one ends gets answers of its own',
  T,
  async () => {
    const { names } = makePeers(5, 1);
    const set = new PeerSet<string>({ members: names, logger: () => {} });
    const nested: Array<Promise<Array<{ peer: string; value: string }>>> = [];
    const plain = (peer: string): Promise<string> =>
      new Promise((resolve) => setImmediate(resolve, `n:${peer}`));
    const fn = (peer: string, signal: AbortSignal): Promise<string> => {
      signal.addEventListener('abort', () => nested.push(set.quorum(2, plain)), { once: true });
      // The first peer answers, the others never do: they are aborted when the quorum has its one answer.
      return peer === set.candidates()[0] ? Promise.resolve(`q:${peer}`) : new Promise<string>(() => {});
    };
    const order = set.candidates();
    const [first] = await set.quorum(1, fn, { hedgeDelayMs: 0 });
    assert.deepEqual(first, { peer: order[0], value: `q:${order[0]}` });
    for (let i = 0; i < 3; i++) {
      await set.quorum(3, fn, { hedgeDelayMs: Number.POSITIVE_INFINITY }).catch(() => {});
    }
    for (const results of await Promise.all(nested)) {
      assert.equal(results.length, 2);
      for (const r of results) assert.equal(r.value, `n:${r.peer}`);
    }
    set.close();
  },
);
