// The demo's storage-grid driver (incident 2): `lifeline demo --driver grid`. Ten HTTP storage peers in
// this process each hold every share of every object; a fetch needs any k = 3 shares. The first peer sits
// behind each side's fault proxy and vanishes silently at the fault (a black hole: no reply, no FIN, no
// RST); at the same moment the second peer turns slow.
//
// naive: what the incident's client did — pick k peers for the object (by its key), ask them and await
// them all, with TCP's defaults (no timeout of its own).
//
// lifeline: a lifeline-net/peers PeerSet over the same ten peers: heartbeats feed a phi-accrual detector,
// quorum(3) asks the best peers, replaces a failed or lost one with an alternate and hedges past the hedge
// delay, under a deadline; its log collapses each incident into one line.
import { setTimeout as sleep } from 'node:timers/promises';
import { type IncidentLine, PeerSet } from '../../peers/index.js';
import type { DemoDriver, DemoTarget, ExtraFigure, Side, SideOptions } from '../driver.js';
import { SCENARIOS, type Scenario } from '../scenarios.js';
import { countedAgent, type GridAddress, get, type StoragePeer, startStoragePeer } from './grid-storage.js';

const N = 10;
const K = 3;
/** How long a share takes from the slow peer once it turns slow. */
const SLOW_MS = 1500;

/**
 * The figure the grid adds to the table: log lines each side's client wrote (counted, not printed). The
 * sides also report `incidents` (distinct peer-and-cause bursts the set logged) and `failingLines`.
 */
const LOG_LINES: ExtraFigure = { key: 'logLines', label: 'log lines', lowerIsBetter: true };

/** Grids started by this process's start(): the scenario's script turns their second peer slow. */
const running = new Set<StoragePeer[]>();

/** The k peers the naive client asks for object `key`: fixed by the key, as a placement table would be. */
function placement(peers: readonly GridAddress[], key: number): GridAddress[] {
  return Array.from({ length: K }, (_, i) => peers[(key + i) % peers.length]!);
}

function naiveSide(peers: GridAddress[]): Side {
  const counted = countedAgent();
  const agent = counted.agent;
  // The incident's client logged every failed request; its hung ones log when they finally fail (here, when
  // the demo ends and closes their connections, standing in for TCP giving up).
  let logLines = 0;
  const logged = (error: unknown): never => {
    logLines++;
    throw error;
  };
  const inFlight = new Set<Promise<unknown>>();
  const fetchShare = (peer: GridAddress, path: string): Promise<string> => {
    const request = get(agent, peer, path).catch(logged);
    const settled: Promise<boolean> = request.then(
      () => inFlight.delete(settled),
      () => inFlight.delete(settled),
    );
    inFlight.add(settled);
    return request;
  };
  return {
    name: 'naive',
    maxOpMs: undefined,
    app: {
      async read(key) {
        await Promise.all(placement(peers, key).map((peer, i) => fetchShare(peer, `/share/${key}/${i}`)));
      },
      async write() {
        throw new Error('the grid demo only reads');
      },
    },
    close: async () => {
      agent.destroy();
      // The requests still waiting fail now ('socket hang up', a turn later): let them log first.
      await Promise.race([Promise.allSettled(inFlight), sleep(1000)]);
    },
    figures: () => ({ logLines }),
    // It never retries: a failed share fails the fetch.
    poolSample: () => ({ ...counted.sample(), retries: 0 }),
  };
}

function lifelineSide(peers: GridAddress[], options: SideOptions): Side {
  const counted = countedAgent();
  const agent = counted.agent;
  const lines: IncidentLine[] = [];
  const set = new PeerSet<GridAddress>({
    members: peers,
    heartbeat: { intervalMs: 100, send: (peer, signal) => get(agent, peer, '/hb', signal) },
    detector: { acceptableHeartbeatPauseMs: 300, minStdDeviationMs: 50, firstHeartbeatEstimateMs: 100 },
    minCallTimeoutMs: 100,
    // The demo's output is the table; the set's incident lines are counted, as an app's logger would get them.
    logger: (line) => lines.push(line),
  });
  let share = 0;
  return {
    name: 'lifeline',
    maxOpMs: options.queryDeadlineMs,
    app: {
      async read(key) {
        await set.quorum(K, (peer, signal) => get(agent, peer, `/share/${key}/${share++ % N}`, signal), {
          deadlineMs: options.queryDeadlineMs,
        });
      },
      async write() {
        throw new Error('the grid demo only reads');
      },
    },
    close: async () => {
      set.close();
      agent.destroy();
    },
    figures: () => {
      const failing = lines.filter((line) => line.kind === 'failing');
      const incidents = new Set(failing.map((line) => `${line.peer} ${line.cause}`)).size;
      return { logLines: lines.length, failingLines: failing.length, incidents };
    },
    poolSample: () => {
      // Calls beyond the K each fetch starts with: alternates and hedges.
      const { calls, quorums } = set.stats();
      return { ...counted.sample(), retries: Math.max(0, calls - K * quorums) };
    },
  };
}

const gridScenario: Scenario = {
  name: 'grid',
  title: 'A peer vanishes, another turns slow',
  incident: '2',
  fault:
    `Fetches need ${K} of ${N} storage peers. At the fault one peer goes silent (no reply, no FIN, no RST) and ` +
    `another starts taking ${SLOW_MS} ms per share.`,
  kind: 'read',
  script: async (c) => {
    await c.at(c.timing.faultAtMs);
    for (const storage of running) storage[1]!.delayMs = SLOW_MS;
    await c.all((p) => {
      p.addToxic({ name: 'vanish-up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
      p.addToxic({ name: 'vanish-down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
    });
    await c.at(c.timing.durationMs);
    for (const storage of running) storage[1]!.delayMs = 0;
  },
};

const SETUP_HTML = `Ten HTTP storage peers; a fetch needs any ${K} shares. <b>The naive client</b> asks the ${K} peers its
placement table names for the object and awaits them all, with TCP's defaults and a log line per failure.
<b>lifeline-net/peers</b> asks the best ${K} by health and latency (heartbeats into a phi-accrual detector),
replaces a failed, lost or slow one with an alternate, hedges past the hedge delay, and logs one line per incident.`;

export const gridDriver: DemoDriver = {
  name: 'grid',
  labels: {
    naive: 'naive k-of-n client',
    lifeline: 'lifeline-net/peers',
    read: `fetches of ${K} shares from ${N} peers`,
    write: 'no writes',
    setupHtml: SETUP_HTML,
    extraFigures: [LOG_LINES],
  },
  scenarios: [SCENARIOS.find((s) => s.name === 'baseline')!, gridScenario],
  urlExample: '(none: the grid runs its own storage peers)',
  defaultTarget: `${N} HTTP storage peers in this process`,
  checkUrl: () => 'is not used by the grid driver, which runs its own storage peers',
  async start({ onProgress }): Promise<DemoTarget> {
    onProgress(`starting ${N} storage peers…`);
    const storage: StoragePeer[] = [];
    try {
      for (let i = 0; i < N; i++) storage.push(await startStoragePeer(`s${i}`));
    } catch (error) {
      for (const peer of storage) await peer.close();
      throw error;
    }
    running.add(storage);
    const direct = storage.map((peer) => ({ host: '127.0.0.1', port: peer.port }));
    return {
      description: `${N} HTTP storage peers on 127.0.0.1; s0 behind the fault proxy`,
      upstream: `127.0.0.1:${storage[0]!.port}`,
      side(name, options) {
        // The first peer is reached through this side's fault proxy, the others directly.
        const peers = [options.proxy, ...direct.slice(1)];
        return name === 'naive' ? naiveSide(peers) : lifelineSide(peers, options);
      },
      auditWrites: async () => ({ lost: 0, doubled: 0 }),
      cleanup: async () => {},
      stop: async () => {
        running.delete(storage);
        for (const peer of storage) await peer.close().catch(() => {});
      },
    };
  },
};
