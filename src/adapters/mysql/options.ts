// lifeline-net/mysql's `lifeline` options, checked once at createPool.
import { InvalidOptionError, MAX_TIMER_MS, type OptionRules, validateOptions } from '../../core/options.js';

/** A host of `lifeline.hosts`: where to go when the current host turns read-only (failover). */
export interface MysqlHost {
  host: string;
  port?: number;
}

/** The `lifeline` object of a lifeline-net/mysql pool's config. Every field is optional. */
export interface LifelineMysqlOptions {
  /** How long getConnection/query wait for a connection (mysql2 waits forever). Default 30000. */
  acquireTimeoutMs?: number;
  /** Deadline of each pool.query/pool.execute; `KILL QUERY` ends it on the server. Default: none (a query's own `timeout` option also sets it). */
  queryDeadlineMs?: number;
  /** Treat every pool.query as safe to run twice, so an outcome-unknown failure is retried. Default false. */
  idempotent?: boolean;
  /** Extra attempts of a pool.query after a retryable failure. Default 5. */
  maxRetries?: number;
  /** Base of the exponential backoff with full jitter between attempts. Default 25. */
  retryBackoffMs?: number;
  /** Connections are retired after this age, shortened per connection by lifetimeJitter. Default 1800000; 0 = never. */
  maxLifetimeMs?: number;
  /** Fraction by which each connection's lifetime is shortened at random. Default 0.1; range 0–0.5. */
  lifetimeJitter?: number;
  /** A connection idle at least this long gets one event-loop turn before handout, so a pending FIN or RST lands first. Default 100. */
  validateAfterIdleMs?: number;
  /** Safe reads: a statement that looks like a read runs in a read-only session, so it may run again after a lost connection. Default true. */
  safeReads?: boolean;
  /** A reply silent this long makes lifeline ask information_schema.processlist whether the statement runs. Default 4000; 0 = off. */
  verifyAfterMs?: number;
  /** Further hosts to move to when the current one answers a read-only error (1290, 1792, 1836). Default: none. */
  hosts?: MysqlHost[];
  /** TCP keepalive: idle time before the first probe. Default 10000. */
  keepaliveIdleMs?: number;
  /** TCP keepalive: time between probes. Default 5000. */
  keepaliveIntervalMs?: number;
  /** TCP keepalive: unanswered probes before the kernel kills the connection. Default 3. */
  keepaliveCount?: number;
  /** TCP_USER_TIMEOUT: unacknowledged data older than this kills the connection. Default 30000; 0 disables. */
  userTimeoutMs?: number;
  /** Bytes queued with no write progress for this long kill the connection. Default 30000; 0 disables. */
  writeStallMs?: number;
  /** Backoff between failing connects: full jitter, doubling from this base. Default 100. */
  createBackoffBaseMs?: number;
  /** Ceiling of that backoff. Default 1000. */
  createBackoffMaxMs?: number;
}

export type ResolvedMysqlOptions = Required<Omit<LifelineMysqlOptions, 'queryDeadlineMs'>> & {
  queryDeadlineMs: number | undefined;
};

const duration = { kind: 'number', min: 0, infinity: false } as const;
const RULES: OptionRules = {
  acquireTimeoutMs: { kind: 'number', min: 1 },
  queryDeadlineMs: { kind: 'number', min: 1, max: MAX_TIMER_MS },
  idempotent: { kind: 'boolean' },
  maxRetries: { kind: 'number', min: 0, max: 100, integer: true },
  // exec's RetryPolicy bound on baseDelayMs.
  retryBackoffMs: { kind: 'number', min: 0, max: 3_600_000 },
  maxLifetimeMs: duration,
  lifetimeJitter: { kind: 'number', min: 0, max: 0.5 },
  validateAfterIdleMs: duration,
  safeReads: { kind: 'boolean' },
  verifyAfterMs: duration,
  keepaliveIdleMs: { kind: 'number', min: 1 },
  keepaliveIntervalMs: { kind: 'number', min: 1 },
  keepaliveCount: { kind: 'number', min: 1, max: 127, integer: true },
  userTimeoutMs: duration,
  writeStallMs: duration,
  createBackoffBaseMs: { kind: 'number', min: 1 },
  createBackoffMaxMs: { kind: 'number', min: 1 },
};

/** Checks `options` (InvalidOptionError naming the option) and fills in the defaults. */
export function resolveMysqlOptions(options: unknown): ResolvedMysqlOptions {
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new InvalidOptionError('lifeline-net/mysql createPool', 'lifeline', 'must be an object', options);
  }
  const { hosts, ...rest } = (options ?? {}) as LifelineMysqlOptions;
  validateOptions('lifeline-net/mysql createPool: lifeline', rest, RULES);
  const list: MysqlHost[] = [];
  if (hosts !== undefined) {
    if (!Array.isArray(hosts)) {
      throw new InvalidOptionError(
        'lifeline-net/mysql createPool: lifeline',
        'hosts',
        'must be an array of { host, port }',
        hosts,
      );
    }
    for (const [i, h] of (hosts as unknown[]).entries()) {
      validateOptions(`lifeline-net/mysql createPool: lifeline.hosts[${i}]`, h, {
        host: { kind: 'string', required: true },
        port: { kind: 'number', min: 1, max: 65535, integer: true },
      });
      list.push(h as MysqlHost);
    }
  }
  const base = rest.createBackoffBaseMs ?? 100;
  return {
    acquireTimeoutMs: rest.acquireTimeoutMs ?? 30_000,
    queryDeadlineMs: rest.queryDeadlineMs,
    idempotent: rest.idempotent ?? false,
    maxRetries: rest.maxRetries ?? 5,
    retryBackoffMs: rest.retryBackoffMs ?? 25,
    maxLifetimeMs: rest.maxLifetimeMs ?? 1_800_000,
    lifetimeJitter: rest.lifetimeJitter ?? 0.1,
    validateAfterIdleMs: rest.validateAfterIdleMs ?? 100,
    safeReads: rest.safeReads ?? true,
    verifyAfterMs: rest.verifyAfterMs ?? 4000,
    hosts: list,
    keepaliveIdleMs: rest.keepaliveIdleMs ?? 10_000,
    keepaliveIntervalMs: rest.keepaliveIntervalMs ?? 5000,
    keepaliveCount: rest.keepaliveCount ?? 3,
    userTimeoutMs: rest.userTimeoutMs ?? 30_000,
    writeStallMs: rest.writeStallMs ?? 30_000,
    createBackoffBaseMs: base,
    createBackoffMaxMs: Math.max(base, rest.createBackoffMaxMs ?? 1000),
  };
}
