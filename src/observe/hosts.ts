// Per-host metrics of pools that route reads over several servers (lifeline-net/pg with replicas): each host's
// role, replay lag, whether it takes reads, reads routed to it and reads that moved away from it. Read at
// collection from the adapter pool's own stats().replicas, found by shape: observe does not import adapters.
import type { Attributes, Family, ValueSample } from './model.js';

/** One host as an adapter's stats().replicas.hosts reports it (lifeline-net/pg's PgHostStats). */
export interface HostStatsLike {
  readonly host: string;
  readonly role: string;
  readonly up: boolean;
  readonly lagMs: number | undefined;
  readonly lagBytes: number | undefined;
  readonly eligible: boolean;
  readonly readsRouted: number;
  readonly fallbacks: number;
}

/** An adapter pool's replica stats (lifeline-net/pg's ReplicaStats), or undefined without replicas. */
export interface RoutedStatsLike {
  readonly hosts: readonly HostStatsLike[];
  readonly readsToPrimary: number;
}

/** A pool whose hosts are reported: its metric name and its replica stats as read now. */
export interface HostSource {
  readonly name: string;
  routed(): RoutedStatsLike | undefined;
}

/** The replica stats of an adapter pool, when it has the shape (`stats().replicas.hosts` is an array). */
export function routedStatsOf(facade: object): RoutedStatsLike | undefined {
  const stats = (facade as { stats?: unknown }).stats;
  if (typeof stats !== 'function') return undefined;
  const snapshot: unknown = stats.call(facade);
  if (typeof snapshot !== 'object' || snapshot === null) return undefined;
  const replicas = (snapshot as { replicas?: unknown }).replicas;
  if (typeof replicas !== 'object' || replicas === null) return undefined;
  return Array.isArray((replicas as { hosts?: unknown }).hosts) ? (replicas as RoutedStatsLike) : undefined;
}

const POOL_NAME = 'db.client.connection.pool.name';
const HOST = 'server.address';
const ROLE = 'lifeline.host.role';

function perHost(
  sources: Iterable<HostSource>,
  read: (host: HostStatsLike) => number | undefined,
): ValueSample[] {
  const samples: ValueSample[] = [];
  for (const source of sources) {
    const routed = source.routed();
    if (routed === undefined) continue;
    for (const host of routed.hosts) {
      const value = read(host);
      if (value === undefined) continue;
      const attributes: Attributes = { [POOL_NAME]: source.name, [HOST]: host.host, [ROLE]: host.role };
      samples.push({ attributes, value });
    }
  }
  return samples;
}

export function hostFamilies(sources: () => Iterable<HostSource>): Family[] {
  return [
    {
      name: 'lifeline.host.up',
      kind: 'gauge',
      unit: '1',
      description: "A routed pool's host answered its last health check (1) or not (0), with its role.",
      collect: () => perHost(sources(), (h) => (h.up ? 1 : 0)),
    },
    {
      name: 'lifeline.replica.eligible',
      kind: 'gauge',
      unit: '1',
      description: 'A replica takes reads now (1: up, within the lag bounds, no recent failure) or not (0).',
      collect: () => perHost(sources(), (h) => (h.role === 'replica' ? (h.eligible ? 1 : 0) : undefined)),
    },
    {
      name: 'lifeline.replica.lag',
      kind: 'gauge',
      unit: 's',
      description: "A replica's replay lag in time, as lifeline measures it (docs/pg.md, Reads on replicas).",
      collect: () =>
        perHost(sources(), (h) =>
          h.role === 'replica' && h.lagMs !== undefined ? h.lagMs / 1000 : undefined,
        ),
    },
    {
      name: 'lifeline.replica.lag_bytes',
      kind: 'gauge',
      unit: 'By',
      description: "A replica's replay lag in WAL bytes behind the primary's insert position.",
      collect: () => perHost(sources(), (h) => (h.role === 'replica' ? h.lagBytes : undefined)),
    },
    {
      name: 'lifeline.replica.reads',
      kind: 'counter',
      unit: '{read}',
      description: 'Reads routed to a host as a replica.',
      collect: () => perHost(sources(), (h) => h.readsRouted),
    },
    {
      name: 'lifeline.replica.fallbacks',
      kind: 'counter',
      unit: '{read}',
      description: 'Reads that failed on a replica and ran again on another host (the caller saw no error).',
      collect: () => perHost(sources(), (h) => h.fallbacks),
    },
    {
      name: 'lifeline.replica.reads_to_primary',
      kind: 'counter',
      unit: '{read}',
      description:
        'Reads that went to the primary because no replica could take them (none eligible or caught up).',
      collect: () => {
        const samples: ValueSample[] = [];
        for (const source of sources()) {
          const routed = source.routed();
          if (routed !== undefined)
            samples.push({ attributes: { [POOL_NAME]: source.name }, value: routed.readsToPrimary });
        }
        return samples;
      },
    },
  ];
}
