// The incidents in docs/incidents.md as fault scripts. Each script drives both sides' proxies at the
// same moments, so the naive client and lifeline's meet exactly the same network. The scripts act on TCP
// only, so they apply to every driver; a driver picks those that make sense for its server and may add
// its own (src/demo/drivers/index.ts).

import type { FaultProxy, Stream, ToxicSpec, ToxicType } from '../faults/index.js';
import type { OpKind } from './metrics.js';

export interface Timing {
  /** How long the workload issues ops. */
  durationMs: number;
  faultAtMs: number;
  /** Length of an outage (black hole, partition, refusal, stalled reads). */
  outageMs: number;
  /** The "24 h" proxy, compressed: connections older than this are closed. */
  lifetimeMs: number;
  /**
   * How long ops of a side with no deadline (the plain pg.Pool) get to settle after the load stops;
   * anything still pending then is hung. A side with a deadline gets until its deadline.
   */
  graceMs: number;
  /** Upper bound on one lifeline query, retries included. */
  queryDeadlineMs: number;
  /** Upper bound on one attempt of a lifeline read. */
  attemptDeadlineMs: number;
}

export const TIMINGS = {
  quick: {
    durationMs: 1750,
    faultAtMs: 500,
    outageMs: 300,
    lifetimeMs: 400,
    graceMs: 1000,
    queryDeadlineMs: 4000,
    attemptDeadlineMs: 250,
  },
  full: {
    durationMs: 6000,
    faultAtMs: 1500,
    outageMs: 2000,
    lifetimeMs: 1500,
    graceMs: 2000,
    queryDeadlineMs: 8000,
    attemptDeadlineMs: 500,
  },
} as const satisfies Record<string, Timing>;

/** The part of FaultProxy the scripts use. */
export type FaultControl = Pick<
  FaultProxy,
  'closeAll' | 'addToxic' | 'updateToxic' | 'removeToxic' | 'disable' | 'enable' | 'connections'
>;

export interface FaultContext {
  timing: Timing;
  /** Waits until `ms` after the scenario's start; rejects if the run is aborted. */
  at(ms: number): Promise<void>;
  /** Applies a fault action to every side's proxy at once, and records when (for "recovered"). */
  all(action: (proxy: FaultControl) => unknown): Promise<void>;
  /** Like `all`, for conditions set up before the fault that are not the fault itself. */
  prepare(action: (proxy: FaultControl) => unknown): Promise<void>;
}

export interface Scenario {
  name: string;
  title: string;
  /** Which incident in docs/incidents.md it replays. */
  incident: string;
  /** The fault in one sentence, for the report. */
  fault: string;
  kind: OpKind;
  script(context: FaultContext): Promise<void>;
  /** Run only when named (`--scenario`): it needs a target most runs do not have (a streaming replica). */
  explicitOnly?: boolean;
}

/**
 * Repeats `action` from the fault on, `times` times, spread over the first half of the rest of the load so
 * that there is time left to see whether each side recovers.
 */
async function repeated(
  context: FaultContext,
  times: number,
  action: (proxy: FaultControl) => unknown,
): Promise<void> {
  const { faultAtMs, durationMs } = context.timing;
  const step = (durationMs - faultAtMs) / (2 * times);
  for (let i = 0; i < times; i++) {
    await context.at(faultAtMs + i * step);
    await context.all(action);
  }
}

/** Applies `action` once, at the fault. */
async function atFault(context: FaultContext, action: (proxy: FaultControl) => unknown): Promise<void> {
  await context.at(context.timing.faultAtMs);
  await context.all(action);
}

async function outage(
  context: FaultContext,
  on: (p: FaultControl) => unknown,
  off: (p: FaultControl) => unknown,
) {
  await atFault(context, on);
  await context.at(context.timing.faultAtMs + context.timing.outageMs);
  await context.all(off);
}

const toxic = (
  name: string,
  type: ToxicType,
  stream: Stream,
  attributes: Record<string, number>,
): ToxicSpec => ({
  name,
  type,
  stream,
  attributes,
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'baseline',
    title: 'No fault',
    incident: '—',
    fault: 'Nothing goes wrong: the cost of lifeline on a healthy network.',
    kind: 'read',
    script: async () => {},
  },
  {
    name: 'fin-all',
    title: 'Peer FIN on every connection',
    incident: '1, 4',
    fault: 'The proxy closes every connection with a FIN, twice (a proxy or server closing connections).',
    kind: 'read',
    script: (c) => repeated(c, 2, (p) => p.closeAll('fin')),
  },
  {
    name: 'reset-all',
    title: 'RST on every connection',
    incident: '3',
    fault: 'The proxy resets every connection, twice ("connection reset by peer").',
    kind: 'read',
    script: (c) => repeated(c, 2, (p) => p.closeAll('reset')),
  },
  {
    name: 'lifetime-cut',
    title: 'Proxy closes old connections',
    incident: '1',
    fault:
      'From the fault on, the proxy closes every connection older than a lifetime (the 24 h proxy, compressed).',
    kind: 'read',
    script: (c) =>
      atFault(c, (p) =>
        p.addToxic(toxic('lifetime', 'lifetime', 'downstream', { lifetime: c.timing.lifetimeMs })),
      ),
  },
  {
    name: 'blackhole',
    title: 'Black hole, then heal',
    incident: '2',
    fault:
      'For an outage nothing gets through in either direction, no FIN, no RST (a peer that vanished): the proxy stops reading both sides, so the bytes wait; then it reads again and every one is delivered, in order (TCP retransmitting once a short black hole heals: nothing is lost).',
    kind: 'read',
    script: (c) =>
      outage(
        c,
        (p) => {
          p.addToxic(toxic('blackhole-up', 'stall_reads', 'upstream', {}));
          p.addToxic(toxic('blackhole-down', 'stall_reads', 'downstream', {}));
        },
        (p) => {
          p.removeToxic('blackhole-up');
          p.removeToxic('blackhole-down');
        },
      ),
  },
  {
    name: 'partition-heal',
    title: 'Partition, then heal',
    incident: '2',
    fault:
      'For an outage nothing gets through in either direction, and what is sent is lost; when it ends, every connection that saw it is closed with a FIN (TCP or a middlebox giving up on it), then the network heals.',
    kind: 'read',
    script: (c) =>
      outage(
        c,
        (p) => {
          // Dropped bytes, then the close: at outageMs for the connections open at the fault, and at the heal,
          // by the removal, for those opened during it.
          p.addToxic(toxic('partition-up', 'timeout', 'upstream', { timeout: c.timing.outageMs }));
          p.addToxic(toxic('partition-down', 'timeout', 'downstream', { timeout: c.timing.outageMs }));
        },
        (p) => {
          p.removeToxic('partition-up');
          p.removeToxic('partition-down');
        },
      ),
  },
  {
    name: 'stall-reads',
    title: 'Peer stops reading',
    incident: '1',
    fault:
      'The server stops reading every connection open at the fault and never resumes (a wedged, overloaded peer); new connections are served.',
    kind: 'read',
    script: (c) =>
      atFault(c, (p) => {
        for (const { id } of p.connections()) {
          p.addToxic({ ...toxic(`stall-${id}`, 'stall_reads', 'upstream', {}), target: { connection: id } });
        }
      }),
  },
  {
    name: 'restart',
    title: 'Server restart',
    incident: '4',
    fault: 'The server goes away (connections closed, new ones refused) for an outage, then comes back.',
    kind: 'read',
    script: (c) =>
      outage(
        c,
        (p) => p.disable(),
        (p) => p.enable(),
      ),
  },
  {
    name: 'writes-reset',
    title: 'Writes under resets',
    incident: '3',
    fault:
      'INSERTs with unique ids while the proxy resets every connection repeatedly; replies are slowed so resets land after commits.',
    kind: 'write',
    script: async (c) => {
      await c.prepare((p) => p.addToxic(toxic('slow-replies', 'latency', 'downstream', { latency: 20 })));
      await repeated(c, 4, (p) => p.closeAll('reset'));
    },
  },
];

/**
 * A middlebox that swallows bytes (a stuck PgBouncer, a managed database proxy, an HAProxy whose backend
 * paused): for an outage it acknowledges everything and passes nothing, in either direction, with every
 * connection kept open; then it passes traffic again on the same connections, and what it swallowed stays
 * lost. No FIN, no RST, keepalive answered: only the server can say a reply will never come. Offered by the
 * drivers whose server can be asked (pg: reply verification, docs/pg.md).
 */
export const STUCK_PROXY: Scenario = {
  name: 'stuck-proxy',
  title: 'Stuck proxy swallows bytes, then passes',
  incident: '2',
  fault:
    'For an outage a middlebox swallows every byte both ways while keeping every connection open, then passes traffic again on the same connections; what it swallowed is gone (requests in flight never get a reply).',
  kind: 'read',
  script: (c) =>
    outage(
      c,
      (p) => {
        p.addToxic(toxic('stuck-up', 'timeout', 'upstream', { timeout: 0 }));
        p.addToxic(toxic('stuck-down', 'timeout', 'downstream', { timeout: 0 }));
      },
      (p) => {
        // Taken off the connections first (they stay open, docs/faults.md), then removed.
        for (const name of ['stuck-up', 'stuck-down']) {
          p.updateToxic(name, { toxicity: 0 });
          p.removeToxic(name);
        }
      },
    ),
};

/**
 * What the replica scenarios act on besides the proxies (which stand in front of the replica): set by a driver
 * whose target has a streaming replica (pg with `--database-url …?replica=host:port`), cleared when it stops.
 */
export interface ReplicaControl {
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
}

let replicaControl: ReplicaControl | undefined;

export function setReplicaControl(control: ReplicaControl | undefined): void {
  replicaControl = control;
}

function requireReplica(name: string): ReplicaControl {
  if (replicaControl === undefined) {
    throw new Error(
      `the ${name} scenario needs a primary with a streaming replica: run it with --database-url ` +
        "'postgres://user:pass@primary:5432/db?replica=replica-host:5432' (the embedded PGlite has no replica, and the demo cannot make one)",
    );
  }
  return replicaControl;
}

/**
 * Reads on replicas (docs/pg.md). With a replica, every read of the workload is the app's read-your-writes
 * pattern: it writes a row on the primary, then reads it back; a read that misses it is a failed request (a
 * 404 for what the user just created). The proxies stand in front of the replica; the primary is reached
 * directly. Run only when named, against a primary with a replica.
 */
async function pausedReplay(c: FaultContext, replica: ReplicaControl): Promise<void> {
  await c.at(c.timing.faultAtMs);
  await c.all(() => {});
  await replica.pauseReplay();
  try {
    await c.at(c.timing.faultAtMs + c.timing.outageMs);
  } finally {
    await replica.resumeReplay();
  }
  await c.all(() => {});
}

export const REPLICA_SCENARIOS: readonly Scenario[] = [
  {
    name: 'replica-lag',
    title: 'Replica falls behind',
    incident: '4',
    fault:
      'The replica stops replaying WAL (pg_wal_replay_pause()) for an outage, then catches up; each request reads back the row it just wrote.',
    kind: 'read',
    explicitOnly: true,
    // Checked before the script's first await: without a replica the run stops at once, saying why.
    script: (c) => pausedReplay(c, requireReplica('replica-lag')),
  },
  {
    name: 'replica-down',
    title: 'Replica goes down',
    incident: '4',
    fault:
      'The replica goes away (connections closed, new ones refused) for an outage, then comes back; the primary stays up.',
    kind: 'read',
    explicitOnly: true,
    script: (c) => {
      requireReplica('replica-down');
      return outage(
        c,
        (p) => p.disable(),
        (p) => p.enable(),
      );
    },
  },
];

/** The scenarios named, in `from`'s order; all of `from` (but those run only when named) when none is named. Throws for a name not in it. */
export function findScenarios(
  names: readonly string[] | undefined,
  from: readonly Scenario[] = SCENARIOS,
): Scenario[] {
  if (!names || names.length === 0) return from.filter((s) => s.explicitOnly !== true);
  const unknown = names.filter((n) => !from.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new RangeError(
      `unknown scenario ${unknown.map((n) => `'${n}'`).join(', ')}; choose from ${from.map((s) => s.name).join(', ')}`,
    );
  }
  return from.filter((s) => names.includes(s.name));
}
