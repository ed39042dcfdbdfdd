// Incident 2's storage grid over real sockets: HTTP storage peers, one vanishing silently (iptables DROP in
// a network namespace, or the fault proxy's black hole where root is missing) and one turning slow. The
// PeerSet must fail the calls outstanding to the vanished peer with PeerLostError (the detector's verdict,
// not TCP's), emit one event for it, finish quorums from alternates, count late answers without logging
// them, and write one log line per incident.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, type TestContext, test } from 'node:test';
import {
  type GridAddress,
  get,
  type StoragePeer,
  startStoragePeer,
} from '../../src/demo/drivers/grid-storage.js';
import { FaultProxy, NetnsHost } from '../../src/faults/index.js';
import { PeerLostError, PeerSet, type PeerState } from '../../src/peers/index.js';
import { requireNetns } from '../support/tools.js';
import { collectLines } from './support.js';

const T = { timeout: 60_000 };
const N = 5;
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

interface Grid {
  endpoints: GridAddress[];
  storage: StoragePeer[];
  /** Makes peer i silent: no reply, no RST, no FIN. */
  vanish(i: number): Promise<void>;
  close(): Promise<void>;
}

async function netnsGrid(): Promise<Grid> {
  const hosts: NetnsHost[] = [];
  const storage: StoragePeer[] = [];
  const endpoints: GridAddress[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const host = await NetnsHost.create({ prefix: 'llgrid' });
      hosts.push(host);
      const peer = await startStoragePeer(`s${i}`, host.gatewayAddress);
      storage.push(peer);
      endpoints.push(await host.serve(peer.port));
    }
  } catch (error) {
    for (const host of hosts) await host.destroy();
    throw error;
  }
  return {
    endpoints,
    storage,
    vanish: (i) => hosts[i]!.blackhole(),
    close: async () => {
      for (const peer of storage) await peer.close();
      for (const host of hosts) await host.destroy();
    },
  };
}

async function proxyGrid(): Promise<Grid> {
  const proxies: FaultProxy[] = [];
  const storage: StoragePeer[] = [];
  const endpoints: GridAddress[] = [];
  for (let i = 0; i < N; i++) {
    const peer = await startStoragePeer(`s${i}`);
    storage.push(peer);
    const proxy = new FaultProxy({ name: `s${i}`, upstream: `127.0.0.1:${peer.port}` });
    proxies.push(proxy);
    endpoints.push(await proxy.start());
  }
  return {
    endpoints,
    storage,
    vanish: async (i) => {
      // A black hole both ways: bytes are swallowed, the connections stay open and silent.
      for (const stream of ['upstream', 'downstream'] as const) {
        proxies[i]!.addToxic({ type: 'timeout', stream, attributes: { timeout: 0 } });
      }
    },
    close: async () => {
      for (const proxy of proxies) await proxy.stop();
      for (const peer of storage) await peer.close();
    },
  };
}

const key = (p: GridAddress): string => `${p.host}:${p.port}`;

async function scenario(grid: Grid): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const log = collectLines();
  const set = new PeerSet<GridAddress>({
    members: grid.endpoints,
    heartbeat: { intervalMs: 50, send: (peer, signal) => get(agent, peer, '/hb', signal) },
    detector: { acceptableHeartbeatPauseMs: 1000, minStdDeviationMs: 20, firstHeartbeatEstimateMs: 50 },
    checkIntervalMs: 20,
    // Given up on as slow after 3 s at the least: later than the detector's verdict on a silent peer
    // (about 50 + 1000 + 5 × 20 ms with these settings), so the vanished peer's calls end on that verdict.
    slowCallFactor: 8,
    minCallTimeoutMs: 3000,
    // Far beyond the test's own timeout: a call that ends did so on the detector's verdict.
    maxCallTimeoutMs: 600_000,
    logger: log.logger,
    logWindowMs: 100,
  });
  const states: Array<{ key: string; to: PeerState }> = [];
  set.on('state', (e) => states.push({ key: e.key, to: e.to }));
  const fetch = (object: number) => (peer: GridAddress, signal: AbortSignal) =>
    get(agent, peer, `/share/${object}/1`, signal);
  try {
    for (let i = 0; i < 10; i++) assert.equal((await set.quorum(3, fetch(i))).length, 3);
    assert.equal(states.length, 0, 'healthy peers stay up through the warm-up');

    // The peer the next quorum would ask first vanishes, silently.
    const victim = set.candidates()[0]!;
    await grid.vanish(grid.endpoints.findIndex((p) => key(p) === key(victim)));
    const direct = [set.call(victim, fetch(100)), set.call(victim, fetch(101))];
    for (const call of direct) call.catch(() => {});
    const quorum = set.quorum(3, fetch(102), { hedgeDelayMs: Number.POSITIVE_INFINITY });
    for (const call of direct) {
      const error = await call.then(
        () => assert.fail('a vanished peer answered'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PeerLostError, String(error));
      assert.equal(error.evidence.cause, 'phi');
      assert.ok(error.evidence.phi >= 8);
    }
    const answers = await quorum;
    assert.equal(answers.length, 3);
    assert.ok(
      answers.every((a) => key(a.peer) !== key(victim)),
      'the quorum finished from alternates',
    );
    const downs = states.filter((s) => s.to === 'down');
    assert.deepEqual(downs, [{ key: key(victim), to: 'down' }], 'one event, for the vanished peer only');
    assert.ok(!set.usable().some((p) => key(p) === key(victim)));

    // Another turns slow; the transport ignores the signal, so its answers come back late.
    const slow = set.candidates()[0]!;
    grid.storage[grid.endpoints.findIndex((p) => key(p) === key(slow))]!.delayMs = 6000;
    const late = new Promise<void>((resolve) => set.on('late', (e) => e.ok && resolve()));
    const stubborn = (object: number) => (peer: GridAddress) => get(agent, peer, `/share/${object}/2`);
    // Hedging off: the adaptive timeout gives up on the slow peer and an alternate answers instead.
    const noHedge = { hedgeDelayMs: Number.POSITIVE_INFINITY };
    for (let i = 0; i < 3; i++) assert.equal((await set.quorum(3, stubborn(200 + i), noHedge)).length, 3);
    const order = set.candidates().map(key);
    assert.equal(order[order.length - 1], key(slow), 'the slow peer is now asked last');
    await late;
    assert.ok(set.stats().lateReplies >= 1);
    assert.ok(set.stats().slow >= 1);
  } finally {
    set.close();
    agent.destroy();
  }
  const failing = log.lines.filter((l) => l.kind === 'failing');
  const byPeer = new Map<string, string[]>();
  for (const line of failing) byPeer.set(line.peer, [...(byPeer.get(line.peer) ?? []), line.cause]);
  assert.equal(failing.length, 2, failing.map((l) => l.message).join('\n'));
  assert.deepEqual(
    [...byPeer.values()].map((causes) => causes.length),
    [1, 1],
    'one line per incident',
  );
  assert.ok(failing.some((l) => l.cause === 'down:phi'));
  assert.ok(failing.some((l) => l.cause === 'LIFELINE_PEER_SLOW'));
}

test(
  'storage peers in network namespaces: iptables DROP silences one, another turns slow',
  T,
  async (t: TestContext) => {
    if (!requireNetns(t)) return;
    const grid = await netnsGrid();
    try {
      await scenario(grid);
    } finally {
      await grid.close();
    }
  },
);

test('storage peers behind the fault proxy: a black hole silences one, another turns slow', T, async () => {
  const grid = await proxyGrid();
  try {
    await scenario(grid);
  } finally {
    await grid.close();
  }
});
