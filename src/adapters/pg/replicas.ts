// Reads on replicas: which replica serves a read, and how a failed replica read moves on without the caller noticing.
import { performance } from 'node:perf_hooks';
import type { QueryConfig, QueryResult } from 'pg';
import { InvalidOptionError } from '../../core/options.js';
import { DeadlineExceededError } from '../../exec/errors.js';
import { sqlState } from '../../protocols/postgres.js';
import type { ClientConstructor } from './client.js';
import type { PgHost } from './hosts.js';
import { looksLikeRead, SQLSTATE_READ_ONLY, textOf } from './reads.js';
import { type HostHealth, type PgHostStats, ReplicaMonitor } from './replica-health.js';
import {
  currentContext,
  isPinned,
  lastWrite,
  markWrite,
  pinAfterWrite,
  type RwContext,
} from './rw-context.js';
import type { PoolClient } from './types.js';

/** Reads on replicas as `pool.stats().replicas` shows them (copies). */
export interface ReplicaStats {
  /** Every host: the primary list's and the replicas'. */
  readonly hosts: readonly PgHostStats[];
  /** Reads that went to the primary because no replica could take them (none eligible, or none caught up). */
  readonly readsToPrimary: number;
  /** Reads that failed on a replica and ran again elsewhere (the sum of the hosts' `fallbacks`). */
  readonly fallbacks: number;
}

/** What the router needs of a replica's own pool: a lifeline-net/pg Pool on that one host. */
export interface ReplicaPool {
  query(config: QueryConfig, values?: unknown[]): Promise<QueryResult>;
  end(): Promise<void>;
}

/** Runs the read on the primary, with what is left of its deadline (undefined: none). */
export type PrimaryRun = (deadlineMs: number | undefined) => Promise<QueryResult>;

/**
 * Failures that are the host's, not the statement's: a read that fails so on a replica moves to another host
 * unseen, and on the primary they make the roles be checked again at once.
 */
export function hostTrouble(error: unknown): boolean {
  // The caller's deadline, or a statement refused before it was sent (a bad per-query option).
  if (error instanceof DeadlineExceededError || error instanceof InvalidOptionError) return false;
  const code = sqlState(error);
  if (code === undefined) return true; // connection lost, refused, acquire timeout: the replica's trouble
  const cls = code.slice(0, 2);
  // 08 connection, 57 operator intervention (shutdown, recovery conflict on a database), 53 resources, 58 system;
  // 40001 a recovery conflict cancelled it; 25006 it writes; 55000 "recovery is in progress" (a primary-only function).
  return (
    cls === '08' ||
    cls === '57' ||
    cls === '53' ||
    cls === '58' ||
    code === '40001' ||
    code === SQLSTATE_READ_ONLY ||
    code === '55000'
  );
}

function withDeadline(config: string | QueryConfig, deadlineMs: number | undefined): QueryConfig {
  if (typeof config === 'string')
    return deadlineMs === undefined ? { text: config } : ({ text: config, deadlineMs } as QueryConfig);
  return deadlineMs === undefined ? config : ({ ...config, deadlineMs } as QueryConfig);
}

export interface RouterOptions {
  readonly intervalMs: number;
  readonly maxLagMs: number;
  readonly maxLagBytes: number | undefined;
  /** pg's allowExitOnIdle: the check connections do not keep the process alive. */
  readonly unref: boolean;
}

/**
 * Sends reads to healthy replicas. One per Pool with replicas; it owns the health checks (replica-health.ts) and
 * one small lifeline-net/pg Pool per replica, made on the first read it gets.
 */
export class ReadRouter {
  readonly monitor: ReplicaMonitor;
  private readonly pools = new Map<HostHealth, ReplicaPool>();
  private next = 0;
  private readsToPrimary = 0;
  private closed = false;

  constructor(
    hosts: readonly PgHost[],
    Client: ClientConstructor,
    options: RouterOptions,
    private readonly makePool: (host: PgHost) => ReplicaPool,
  ) {
    this.monitor = new ReplicaMonitor(hosts, Client, {
      intervalMs: options.intervalMs,
      maxLagMs: options.maxLagMs,
      maxLagBytes: options.maxLagBytes,
      unref: options.unref,
    });
    this.monitor.start();
  }

  /**
   * A replica that may take a read now, round robin, or undefined (the primary). In a context that wrote through
   * this pool, only a replica that replayed a primary position sampled after that write.
   */
  pick(context: RwContext | undefined, except?: HostHealth): HostHealth | undefined {
    const hosts = this.monitor.hosts;
    const n = hosts.length;
    const wrote = lastWrite(context, this);
    for (let i = 0; i < n; i++) {
      const at = (this.next + i) % n;
      const h = hosts[at] as HostHealth;
      if (!h.eligible || h === except) continue;
      if (wrote !== undefined && !(h.caughtUpTo > wrote)) continue;
      this.next = (at + 1) % n;
      return h;
    }
    return undefined;
  }

  /**
   * Runs a read on a replica, or on the primary when none can take it. A replica's failure that is not the
   * statement's own (its connection, its role, a recovery conflict) moves the read to another replica or the
   * primary within the same deadline; `primary` runs it there.
   */
  read(
    config: string | QueryConfig,
    values: unknown[] | undefined,
    deadlineMs: number | undefined,
    context: RwContext | undefined,
    primary: PrimaryRun,
  ): Promise<QueryResult> {
    const host = this.closed ? undefined : this.pick(context);
    if (host === undefined) {
      this.readsToPrimary++;
      return primary(deadlineMs);
    }
    const start = deadlineMs === undefined ? 0 : performance.now();
    return this.onReplica(host, config, values, deadlineMs, start, context, primary, 0);
  }

  private onReplica(
    host: HostHealth,
    config: string | QueryConfig,
    values: unknown[] | undefined,
    deadlineMs: number | undefined,
    start: number,
    context: RwContext | undefined,
    primary: PrimaryRun,
    tried: number,
  ): Promise<QueryResult> {
    const left = deadlineMs === undefined ? undefined : Math.max(1, deadlineMs - (performance.now() - start));
    host.readsRouted++;
    return this.poolFor(host)
      .query(withDeadline(config, left), values)
      .catch((error: unknown) => {
        if (!hostTrouble(error)) throw error;
        host.fallbacks++;
        const remaining = deadlineMs === undefined ? undefined : deadlineMs - (performance.now() - start);
        if (remaining !== undefined && remaining < 1) throw error;
        if (sqlState(error) === SQLSTATE_READ_ONLY) {
          // Taken for a read, but it writes (nextval, a function that writes): the primary runs it, once, and
          // the context must see what it wrote.
          return primary(remaining).finally(() => {
            if (context !== undefined) markWrite(context, this);
          });
        }
        // The replica is out until a check says otherwise (checked now, not at the next interval).
        host.eligible = false;
        this.monitor.checkSoon();
        const other =
          tried + 1 < this.monitor.hosts.length && !this.closed ? this.pick(context, host) : undefined;
        if (other === undefined) return primary(remaining);
        return this.onReplica(other, config, values, deadlineMs, start, context, primary, tried + 1);
      });
  }

  private poolFor(host: HostHealth): ReplicaPool {
    let pool = this.pools.get(host);
    if (pool === undefined) {
      pool = this.makePool(host.host);
      this.pools.set(host, pool);
    }
    return pool;
  }

  stats(): ReplicaStats {
    let fallbacks = 0;
    const hosts = this.monitor.hosts.map((h) => {
      fallbacks += h.fallbacks;
      return h.snapshot();
    });
    return { hosts, readsToPrimary: this.readsToPrimary, fallbacks };
  }

  /** Stops the checks and ends every replica pool (their work issued before runs to its end). */
  async close(): Promise<void> {
    this.closed = true;
    await this.monitor.close();
    await Promise.all([...this.pools.values()].map((p) => p.end()));
  }

  /**
   * A checked-out client's reads go to replicas too (Kysely checks out a client per statement): a read while
   * the client is idle, not in a transaction, not pinned, and with nothing queued on it goes to a replica, with
   * this client's own (primary) session as the fallback. Anything else runs on the client and pins it until its
   * release, so its later reads see what it did; in a context, its answer marks the context as written.
   */
  routeClientReads(client: PoolClient): void {
    const inner = client.query as unknown as (...args: unknown[]) => unknown;
    const router = this;
    const routed = function query(first: unknown, second?: unknown, third?: unknown): unknown {
      const text =
        typeof first === 'string' || (typeof first === 'object' && first !== null)
          ? textOf(first as string | QueryConfig)
          : undefined;
      if (text === undefined || (first as { submit?: unknown }).submit !== undefined) {
        return inner.call(client, first, second, third);
      }
      const context = currentContext();
      const callback = (typeof second === 'function' ? second : third) as
        | ((err: Error | null, result?: QueryResult) => void)
        | undefined;
      const values = typeof second === 'function' ? undefined : (second as unknown[] | undefined);
      const forced = context?.primary === true || (first as { primary?: unknown }).primary === true;
      if (!forced && !router.closed && !isPinned(client) && idle(client) && looksLikeRead(text)) {
        const deadlineMs = (first as { deadlineMs?: number }).deadlineMs;
        const pending = router.read(
          first as string | QueryConfig,
          values,
          deadlineMs,
          context,
          (left) =>
            inner.call(
              client,
              withDeadline(first as string | QueryConfig, left),
              values,
            ) as Promise<QueryResult>,
        );
        if (callback === undefined) return pending;
        pending.then(
          (result) => process.nextTick(callback, null, result),
          (error: Error) => process.nextTick(callback, error),
        );
        return undefined;
      }
      const writes = !looksLikeRead(text) || client.getTransactionStatus?.() !== 'I';
      if (writes) pinAfterWrite(client);
      if (context === undefined || !writes) return inner.call(client, first, second, third);
      const mark = () => markWrite(context, router);
      if (callback !== undefined) {
        return inner.call(client, first, values, (err: Error | null, result?: QueryResult) => {
          mark();
          callback(err, result);
        });
      }
      return (inner.call(client, first, values) as Promise<QueryResult>).finally(mark);
    };
    (client as unknown as { query: typeof routed }).query = routed;
  }
}

/** Nothing queued or running on the client: a read sent elsewhere cannot overtake one of its statements. */
function idle(client: PoolClient): boolean {
  const c = client as unknown as { _queryQueue?: unknown[]; _activeQuery?: unknown };
  return (
    (c._queryQueue?.length ?? 0) === 0 &&
    (c._activeQuery ?? null) === null &&
    client.getTransactionStatus?.() === 'I'
  );
}
