// Health of every host behind a Pool with replicas: role, replay position, lag in time and bytes, sampled at an interval.
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { redact } from '../../core/errors.js';
import type { ClientConstructor } from './client.js';
import type { PgHost } from './hosts.js';

export type PgHostRole = 'primary' | 'replica' | 'unknown';

/** One host as `pool.stats().replicas.hosts` shows it (a copy). */
export interface PgHostStats {
  /** `host:port`. */
  readonly host: string;
  /** What the last check found (`pg_is_in_recovery()`); `unknown` before the first answer. */
  readonly role: PgHostRole;
  /** The last check was answered. */
  readonly up: boolean;
  /** Replay lag of a replica in time (see docs/pg.md: how it is measured) and in WAL bytes; 0 for a primary. */
  readonly lagMs: number | undefined;
  readonly lagBytes: number | undefined;
  /** The replica takes reads now (up, a replica, within maxReplicaLagMs / maxReplicaLagBytes, no recent failure). */
  readonly eligible: boolean;
  /** Reads sent to this host as a replica. */
  readonly readsRouted: number;
  /** Of those, reads that failed here and moved to another replica or the primary (the caller saw no error). */
  readonly fallbacks: number;
  /** Checks that found this replica over the lag bound. */
  readonly laggingChecks: number;
  /** Why the last check failed (no password), or undefined. */
  readonly lastError: string | undefined;
  /** Date.now() of the last answered check. */
  readonly checkedAt: number | undefined;
}

/** What the router reads on its hot path, and what the monitor writes at each check. */
export class HostHealth {
  role: PgHostRole = 'unknown';
  up = false;
  lagMs: number | undefined;
  lagBytes: number | undefined;
  /** performance.now() at which the newest primary position this replica has replayed was sampled. */
  caughtUpTo = Number.NEGATIVE_INFINITY;
  eligible = false;
  readsRouted = 0;
  fallbacks = 0;
  laggingChecks = 0;
  lastError: string | undefined;
  checkedAt: number | undefined;
  readonly probe: Probe;

  constructor(
    readonly host: PgHost,
    Client: ClientConstructor,
    unref: boolean,
  ) {
    this.probe = new Probe(host, Client, unref);
  }

  snapshot(): PgHostStats {
    return {
      host: this.host.label,
      role: this.role,
      up: this.up,
      lagMs: this.lagMs,
      lagBytes: this.lagBytes,
      eligible: this.eligible,
      readsRouted: this.readsRouted,
      fallbacks: this.fallbacks,
      laggingChecks: this.laggingChecks,
      lastError: this.lastError,
      checkedAt: this.checkedAt,
    };
  }
}

interface Sample {
  /** performance.now() when the check was sent. */
  readonly sentAt: number;
  readonly standby: boolean;
  readonly insertLsn: number | undefined;
  readonly replayLsn: number | undefined;
}

// pg_current_wal_insert_lsn() fails on a standby and pg_last_wal_replay_lsn() is null on a primary: one
// statement answers for either role. The insert position (not pg_current_wal_lsn(), the write position) is
// used because with synchronous_commit = off a commit is acknowledged before its record is written out: only
// the insert position read after the acknowledgement is sure to be at or past the commit record.
const CHECK =
  'select pg_is_in_recovery() as standby, case when pg_is_in_recovery() then null ' +
  'else pg_current_wal_insert_lsn()::text end as insert_lsn, pg_last_wal_replay_lsn()::text as replay_lsn';

/** A pg_lsn (`16/B374D848`) as a number of bytes (exact below 2^53, 8 PiB of WAL). */
export function parseLsn(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const hi = Number.parseInt(text.slice(0, slash), 16);
  const lo = Number.parseInt(text.slice(slash + 1), 16);
  if (!Number.isFinite(hi) || !Number.isFinite(lo)) return undefined;
  return hi * 4294967296 + lo;
}

/** One dedicated connection per host for the checks, outside the pool's `max`; reopened after a failure. */
class Probe {
  private client: pg.Client | undefined;

  constructor(
    private readonly host: PgHost,
    private readonly Client: ClientConstructor,
    /** pg's allowExitOnIdle: the check connections do not keep the process alive either. */
    private readonly unref: boolean,
  ) {}

  async sample(timeoutMs: number): Promise<Sample | Error> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Error>((resolve) => {
      timer = setTimeout(
        () => resolve(new Error(`no answer from ${this.host.label} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([this.run(timeoutMs), timeout]);
      if (result instanceof Error) this.drop();
      return result;
    } catch (error) {
      this.drop();
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(timeoutMs: number): Promise<Sample> {
    let client = this.client;
    if (client === undefined) {
      client = new this.Client({ ...this.host.config, connectionTimeoutMillis: timeoutMs });
      // A check connection that dies is noticed by its next check; never an uncaught 'error'.
      client.on('error', () => this.drop());
      this.client = client;
      await client.connect();
      if (this.unref)
        (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
    }
    const sentAt = performance.now();
    const { rows } = await client.query<{
      standby: boolean;
      insert_lsn: string | null;
      replay_lsn: string | null;
    }>(CHECK);
    const row = rows[0];
    return {
      sentAt,
      standby: row?.standby === true,
      insertLsn: parseLsn(row?.insert_lsn),
      replayLsn: parseLsn(row?.replay_lsn),
    };
  }

  drop(): void {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    client.end().catch(() => {});
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

const SOON_GAP_MS = 100;

export interface MonitorOptions {
  readonly intervalMs: number;
  readonly maxLagMs: number;
  readonly maxLagBytes: number | undefined;
  /** pg's allowExitOnIdle. */
  readonly unref?: boolean;
}

/** A primary WAL insert position and when it was seen: first (for lag) and last (for read-your-writes). */
interface PrimaryMark {
  readonly lsn: number;
  readonly firstAt: number;
  lastAt: number;
}

/**
 * Checks every host at an interval, all at once: its role, and the primary's WAL insert position against each
 * replica's replay position. Lag in bytes is the difference; lag in time is how long ago the primary was first
 * seen past the replica's replay position, on this process's monotonic clock (no clock skew between servers,
 * and an idle primary does not make an idle replica look late as `now() - pg_last_xact_replay_timestamp()`
 * would). Its resolution is one interval.
 */
export class ReplicaMonitor {
  readonly hosts: HostHealth[];
  private readonly history: PrimaryMark[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** performance.now() when the last check started: checks asked for "now" are at least SOON_GAP_MS apart. */
  private lastStart = Number.NEGATIVE_INFINITY;
  private readonly timeoutMs: number;
  /** Called after a check with the hosts whose role changed. */
  onRoleChange: ((host: HostHealth, from: PgHostRole) => void) | undefined;

  constructor(
    hosts: readonly PgHost[],
    Client: ClientConstructor,
    private readonly options: MonitorOptions,
  ) {
    this.hosts = hosts.map((h) => new HostHealth(h, Client, options.unref === true));
    this.timeoutMs = Math.max(1000, 2 * options.intervalMs);
  }

  start(): void {
    this.schedule(0);
  }

  /** A read failed or a role looked wrong: check every host now rather than at the next interval. */
  checkSoon(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.schedule(this.soonMs());
  }

  /** How long until a check asked for now may start: failing reads or writes never make the checks a busy loop. */
  private soonMs(): number {
    const gap = Math.min(SOON_GAP_MS, this.options.intervalMs);
    return Math.max(0, this.lastStart + gap - performance.now());
  }

  /** Runs one check now and resolves when it is done (the first one, or the one already running). */
  check(): Promise<void> {
    if (this.running !== undefined) return this.running;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastStart = performance.now();
    const running = this.tick().finally(() => {
      this.running = undefined;
      if (this.closed) return;
      const again = this.again;
      this.again = false;
      this.schedule(again ? this.soonMs() : this.options.intervalMs);
    });
    this.running = running;
    return running;
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const done = this.running ?? Promise.resolve();
    return done.then(() => {
      for (const h of this.hosts) h.probe.drop();
    });
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const samples = await Promise.all(this.hosts.map((h) => h.probe.sample(this.timeoutMs)));
    if (this.closed) return;
    const changed: [HostHealth, PgHostRole][] = [];
    let primary: Sample | undefined;
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[i] as HostHealth;
      const s = samples[i] as Sample | Error;
      if (s instanceof Error) {
        h.up = false;
        h.eligible = false;
        h.lastError = redact(s.message);
        continue;
      }
      h.up = true;
      h.lastError = undefined;
      h.checkedAt = Date.now();
      const role: PgHostRole = s.standby ? 'replica' : 'primary';
      if (role !== h.role) changed.push([h, h.role]);
      h.role = role;
      // Two primaries (a promoted replica beside an old primary still up): the first in the list sets the pace.
      if (role === 'primary' && primary === undefined && s.insertLsn !== undefined) primary = s;
    }
    if (primary?.insertLsn !== undefined) this.record(primary.insertLsn, primary.sentAt);
    for (let i = 0; i < this.hosts.length; i++) {
      const h = this.hosts[i] as HostHealth;
      const s = samples[i] as Sample | Error;
      if (s instanceof Error) continue;
      if (h.role === 'primary') {
        h.lagMs = 0;
        h.lagBytes = 0;
        h.eligible = false;
        continue;
      }
      this.judge(h, s);
    }
    for (const [h, from] of changed) this.onRoleChange?.(h, from);
  }

  private record(lsn: number, at: number): void {
    const last = this.history[this.history.length - 1];
    if (last !== undefined && lsn <= last.lsn) {
      // The same position (an idle primary), or a new primary's first, lower one: only the time moves on.
      if (lsn === last.lsn) last.lastAt = at;
      else this.history.length = 0;
    }
    if (last === undefined || lsn !== last.lsn) this.history.push({ lsn, firstAt: at, lastAt: at });
    // Marks older than any bound that matters: a replica behind all of them lags at least that long.
    const keepMs = Math.max(60_000, 10 * this.options.maxLagMs);
    let drop = 0;
    while (drop < this.history.length - 1 && at - (this.history[drop] as PrimaryMark).lastAt > keepMs) drop++;
    if (drop > 0) this.history.splice(0, drop);
  }

  private judge(h: HostHealth, s: Sample): void {
    const replay = s.replayLsn;
    const history = this.history;
    const newest = history[history.length - 1];
    if (replay === undefined || newest === undefined) {
      // No primary position seen yet (or no replay position): the lag is unknown, so no reads.
      h.lagMs = undefined;
      h.lagBytes = undefined;
      h.eligible = false;
      return;
    }
    let k = history.length - 1;
    while (k >= 0 && (history[k] as PrimaryMark).lsn > replay) k--;
    // Everything the primary had inserted when that mark was sampled is replayed here.
    h.caughtUpTo = k >= 0 ? (history[k] as PrimaryMark).lastAt : Number.NEGATIVE_INFINITY;
    const ahead = history[k + 1];
    h.lagBytes = Math.max(0, newest.lsn - replay);
    h.lagMs = ahead === undefined ? 0 : Math.max(0, Math.round(s.sentAt - ahead.firstAt));
    const { maxLagMs, maxLagBytes } = this.options;
    const within = h.lagMs <= maxLagMs && (maxLagBytes === undefined || h.lagBytes <= maxLagBytes);
    if (!within) h.laggingChecks++;
    h.eligible = within;
  }
}
