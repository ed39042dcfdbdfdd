// lifeline-net/pg's options (pg's config plus `lifeline`), checked once at construction.
import {
  checkOption,
  InvalidOptionError,
  MAX_TIMER_MS,
  type OptionRule,
  type OptionRules,
  validateOptions,
} from '../../core/options.js';
import type { TargetSessionAttrs } from './hosts.js';

/** The `lifeline` object of a lifeline-net/pg Pool's config. Every field is optional. */
export interface LifelinePgOptions {
  /** How long pool.connect/pool.query wait for a client when connectionTimeoutMillis is not set (pg waits forever). Default 30000. */
  acquireTimeoutMs?: number;
  /** Deadline of each query (pool.query and checked-out clients); a CancelRequest stops it on the server. Default: none. */
  queryDeadlineMs?: number;
  /** How long a CancelRequest may take to reach the server before the connection is closed instead. Default 5000. */
  cancelTimeoutMs?: number;
  /** Treat every pool.query as safe to run twice, so an outcome-unknown failure is retried. Default false. */
  idempotent?: boolean;
  /** Extra attempts of a pool.query after a retryable failure. Default 2. */
  maxRetries?: number;
  /** Base of the exponential backoff with full jitter between attempts. Default 25. */
  retryBackoffMs?: number;
  /** libpq's target_session_attrs; also read from the connection string. Default 'any'. */
  targetSessionAttrs?: TargetSessionAttrs;
  /** How long a host that refused a connection goes to the back of a multi-host list. Default 5000. */
  hostDownMs?: number;
  /** Time to open a connection (TCP + startup + auth), per host, when connectionTimeoutMillis is not set. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * How long transient connect failures (refused, reset, timed out, server starting up) are retried before the
   * callers waiting for a client get the failure (PgConnectError, pg's error as cause): a server restart
   * shorter than this is ridden out. Failures retrying cannot fix (wrong password, unknown database or host,
   * TLS) reach the callers at once whatever this says. Default 5000; 0 hands over the first failure, as pg does.
   */
  connectRetryMs?: number;
  /**
   * While connection attempts fail (server down, refusing, starting up), the pool waits before the next one:
   * full jitter, doubling from this base up to createBackoffMaxMs. Default 100.
   */
  createBackoffBaseMs?: number;
  /**
   * Ceiling of that wait, so a server that comes back is reconnected to within about this long. Default 1000
   * (at least createBackoffBaseMs). At most two attempts are in flight per pool at any time.
   */
  createBackoffMaxMs?: number;
  /** TCP keepalive: idle time before the first probe. Default 10000 (pg's keepAliveInitialDelayMillis if given). */
  keepaliveIdleMs?: number;
  /** TCP keepalive: time between probes. Default 5000. */
  keepaliveIntervalMs?: number;
  /** TCP keepalive: unanswered probes before the kernel kills the connection. Default 3. */
  keepaliveCount?: number;
  /** TCP_USER_TIMEOUT: unacknowledged data older than this kills the connection. Default 30000; 0 disables. */
  userTimeoutMs?: number;
  /** Bytes queued with no write progress for this long kill the connection (a server that stopped reading). Default 30000; 0 disables. */
  writeStallMs?: number;
  /** A connection idle at least this long gets one event-loop turn before it is handed out, so a pending FIN or RST lands first. Default 100. */
  validateAfterIdleMs?: number;
  /** Fraction by which each connection's maxLifetimeSeconds is shortened at random, so they do not expire together. Default 0.1. */
  lifetimeJitter?: number;
  /**
   * Safe reads (docs/pg.md): a statement that looks like a read (SELECT, WITH, VALUES, TABLE, SHOW, outside a
   * transaction) runs on a read-only session, so losing its connection makes it safe to run again; a write
   * taken for a read fails with 25006 there and runs again read-write. Default true; false turns it off.
   */
  safeReads?: boolean;
  /**
   * Reply verification (docs/pg.md): a reply silent for about this long makes lifeline ask the server
   * (pg_stat_activity, on a separate connection) whether the statement still runs; a lost one retires the
   * connection. Default 4000 (the first check comes within 5 s of silence); 0 turns verification off.
   */
  verifyAfterMs?: number;
  /**
   * The pooler between the pool and the server, when there is one (PgBouncer's pool_mode). lifeline sees a
   * pooler (BackendKeyData names another pid than pg_backend_pid()) but not its mode, so by default it
   * assumes the worst: each safe read runs in its own read-only transaction, and reply verification is off
   * (the backend may change between transactions; queryDeadlineMs is the bound). 'session' lets reads use a
   * read-only session and turns verification on with the real backend pid; 'transaction' says the default
   * is right.
   */
  pooler?: 'session' | 'transaction';
  /**
   * Reads on replicas (docs/pg.md): statements taken for reads, outside a transaction, go to a healthy streaming
   * replica; everything else to the primary. With a multi-host connection string the roles are discovered
   * (pg_is_in_recovery()); with the config's `replicas` list this is on by default. Default false.
   */
  routeReads?: boolean;
  /** A replica whose replay lags the primary by more than this gets no reads until it catches up. Default 1000. */
  maxReplicaLagMs?: number;
  /** The same bound in WAL bytes (the primary's insert position minus the replica's replay position). Default: none. */
  maxReplicaLagBytes?: number;
  /** How often every host's role and replay position are sampled (one small query per host). Default 500. */
  replicaCheckIntervalMs?: number;
}

export type ResolvedPgOptions = Required<
  Omit<
    LifelinePgOptions,
    'queryDeadlineMs' | 'targetSessionAttrs' | 'pooler' | 'routeReads' | 'maxReplicaLagBytes'
  >
> &
  Pick<
    LifelinePgOptions,
    'queryDeadlineMs' | 'targetSessionAttrs' | 'pooler' | 'routeReads' | 'maxReplicaLagBytes'
  >;

// Every duration ends up in a Node timer, which fires after 1 ms for anything past MAX_TIMER_MS (~24.8 days).
const ms = (min: number) => ({ kind: 'number', min, max: MAX_TIMER_MS }) as const;

/** The kernel's TCP_KEEPIDLE/TCP_KEEPINTVL limit (32 767 s), as LiveSocket checks it. */
const MAX_KEEPALIVE_MS = 32_767_000;

const RULES: OptionRules = {
  acquireTimeoutMs: ms(1),
  queryDeadlineMs: ms(1),
  cancelTimeoutMs: ms(1),
  idempotent: { kind: 'boolean' },
  maxRetries: { kind: 'number', min: 0, max: 100, integer: true },
  retryBackoffMs: ms(1),
  targetSessionAttrs: {
    kind: 'enum',
    values: ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'],
  },
  hostDownMs: ms(0),
  connectTimeoutMs: ms(1),
  connectRetryMs: ms(0),
  createBackoffBaseMs: ms(1),
  createBackoffMaxMs: ms(1),
  // Node's setKeepAlive treats a delay under 1000 ms as "the OS default" (2 h): never allowed here.
  keepaliveIdleMs: { kind: 'number', min: 1000, max: MAX_KEEPALIVE_MS, integer: true },
  keepaliveIntervalMs: { kind: 'number', min: 1000, max: MAX_KEEPALIVE_MS, integer: true },
  keepaliveCount: { kind: 'number', min: 1, max: 127, integer: true },
  userTimeoutMs: { ...ms(0), integer: true },
  writeStallMs: { ...ms(0), integer: true },
  validateAfterIdleMs: ms(0),
  lifetimeJitter: { kind: 'number', min: 0, max: 0.5 },
  safeReads: { kind: 'boolean' },
  verifyAfterMs: { kind: 'number', min: 0, max: MAX_TIMER_MS, integer: true },
  pooler: { kind: 'enum', values: ['session', 'transaction'] },
  routeReads: { kind: 'boolean' },
  maxReplicaLagMs: ms(0),
  maxReplicaLagBytes: { kind: 'number', min: 0, integer: true },
  replicaCheckIntervalMs: ms(10),
};

const OWNER = 'lifeline-net/pg Pool lifeline';

/** Validates the `lifeline` object once, at construction; messages name the option and its range. */
export function resolvePgOptions(
  given: LifelinePgOptions | undefined,
  keepAliveInitialDelayMillis?: number,
): ResolvedPgOptions {
  const o = given ?? {};
  validateOptions(OWNER, o, RULES);
  const createBackoffBaseMs = o.createBackoffBaseMs ?? 100;
  const createBackoffMaxMs = o.createBackoffMaxMs ?? Math.max(1000, createBackoffBaseMs);
  if (createBackoffMaxMs < createBackoffBaseMs) {
    throw new InvalidOptionError(
      OWNER,
      'createBackoffMaxMs',
      `must be >= createBackoffBaseMs (${createBackoffBaseMs})`,
      createBackoffMaxMs,
    );
  }
  return {
    acquireTimeoutMs: o.acquireTimeoutMs ?? 30_000,
    queryDeadlineMs: o.queryDeadlineMs,
    cancelTimeoutMs: o.cancelTimeoutMs ?? 5000,
    idempotent: o.idempotent ?? false,
    maxRetries: o.maxRetries ?? 2,
    retryBackoffMs: o.retryBackoffMs ?? 25,
    targetSessionAttrs: o.targetSessionAttrs,
    pooler: o.pooler,
    hostDownMs: o.hostDownMs ?? 5000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    connectRetryMs: o.connectRetryMs ?? 5000,
    createBackoffBaseMs,
    createBackoffMaxMs,
    keepaliveIdleMs: o.keepaliveIdleMs ?? Math.max(1000, keepAliveInitialDelayMillis || 10_000),
    keepaliveIntervalMs: o.keepaliveIntervalMs ?? 5000,
    keepaliveCount: o.keepaliveCount ?? 3,
    userTimeoutMs: o.userTimeoutMs ?? 30_000,
    writeStallMs: o.writeStallMs ?? 30_000,
    validateAfterIdleMs: o.validateAfterIdleMs ?? 100,
    lifetimeJitter: o.lifetimeJitter ?? 0.1,
    safeReads: o.safeReads ?? true,
    verifyAfterMs: o.verifyAfterMs ?? 4000,
    routeReads: o.routeReads,
    maxReplicaLagMs: o.maxReplicaLagMs ?? 1000,
    maxReplicaLagBytes: o.maxReplicaLagBytes,
    replicaCheckIntervalMs: o.replicaCheckIntervalMs ?? 500,
  };
}

/**
 * pg's own durations, as pg reads them: 0 (or absent) means none — pg-pool and pg's Client test them for
 * truthiness — and anything else is handed to setTimeout, where Infinity or a value past MAX_TIMER_MS fires
 * after 1 ms (pg does not treat Infinity as none: every connect would time out at once). So they are checked
 * here, once, under the user's own option name.
 */
const PG_DURATIONS: Readonly<Record<string, OptionRule>> = {
  connectionTimeoutMillis: { kind: 'number', min: 0, max: MAX_TIMER_MS },
  idleTimeoutMillis: { kind: 'number', min: 0, max: MAX_TIMER_MS },
  maxLifetimeSeconds: { kind: 'number', min: 0, max: Math.floor(MAX_TIMER_MS / 1000) },
  keepAliveInitialDelayMillis: { kind: 'number', min: 0, max: MAX_TIMER_MS },
  query_timeout: { kind: 'number', min: 0, max: MAX_TIMER_MS },
  maxUses: { kind: 'number', min: 0, integer: true, infinity: true },
};

/** Checks pg's own config fields that lifeline or pg turn into timers; `null` counts as absent, as pg treats it. */
export function checkPgConfig(config: Readonly<Record<string, unknown>>): void {
  for (const [key, rule] of Object.entries(PG_DURATIONS)) {
    const value = config[key];
    if (value !== null) checkOption('lifeline-net/pg Pool', key, value, rule);
  }
}

/** A statement's own lifeline fields (`deadlineMs`, `idempotent`), as {@link queryOptions} read them. */
export interface QueryOptions {
  readonly deadlineMs: number | undefined;
  readonly idempotent: boolean | undefined;
}

const NO_QUERY_OPTIONS: QueryOptions = Object.freeze({ deadlineMs: undefined, idempotent: undefined });
const QUERY_RULES = { deadlineMs: ms(1), idempotent: { kind: 'boolean' } } as const;

/**
 * Reads and checks a statement's lifeline fields once, the same way for pool.query and a checked-out
 * client's query: the error (InvalidOptionError naming the field) is returned, for the caller to reject with
 * before anything is sent. A string, or a config without these fields, costs no allocation.
 */
export function queryOptions(config: unknown): QueryOptions | InvalidOptionError {
  if (typeof config !== 'object' || config === null) return NO_QUERY_OPTIONS;
  const { deadlineMs, idempotent } = config as { deadlineMs?: unknown; idempotent?: unknown };
  if (deadlineMs === undefined && idempotent === undefined) return NO_QUERY_OPTIONS;
  try {
    if (deadlineMs !== undefined)
      checkOption('lifeline-net/pg query', 'deadlineMs', deadlineMs, QUERY_RULES.deadlineMs);
    if (idempotent !== undefined)
      checkOption('lifeline-net/pg query', 'idempotent', idempotent, QUERY_RULES.idempotent);
  } catch (error) {
    return error as InvalidOptionError;
  }
  return { deadlineMs: deadlineMs as number | undefined, idempotent: idempotent as boolean | undefined };
}
