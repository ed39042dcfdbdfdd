// Over 400 lines on purpose: pg.Pool's whole public surface is one class — @types/pg's overload set for
// query/connect/end and their bodies. The parts with a concept of their own live beside it: client.ts (a
// watched connection), query.ts (one statement and its deadline), failover.ts and hosts.ts (where to connect),
// connect-failure.ts (when failing connects reach the callers), options.ts (validation).

import { inspect } from 'node:util';
import type {
  Pool as PgPoolInstance,
  PoolConfig,
  PoolOptions,
  QueryArrayResult,
  QueryConfig,
  QueryConfigValues,
  QueryResult,
  QueryResultRow,
  Submittable,
} from 'pg';
import pg from 'pg';
import { brand } from '../../core/brand.js';
import { InvalidOptionError, MAX_TIMER_MS } from '../../core/options.js';
import { redact } from '../../core/redact.js';
import { DeadlineExceededError } from '../../exec/errors.js';
import {
  type Attempt,
  type Classification,
  type ExecuteOptions,
  type Executor,
  executor,
  RetryBudget,
} from '../../exec/index.js';
import { Pool as CorePool, type EvictReason, type PoolStats, registerPoolFacade } from '../../pool/index.js';
import { preferIdle } from '../../pool/prefer.js';
import { classifyPostgres, sqlState } from '../../protocols/postgres.js';
import { type ClientConstructor, closeClient, isAlive, stateOf } from './client.js';
import { ConnectFailures } from './connect-failure.js';
import { type DirectPool, queryDirect } from './direct.js';
import { PgConnectError, withPgWording } from './errors.js';
import { HostRotation, openOnAnyHost } from './failover.js';
import { type PgHost, planHosts, type TargetSessionAttrs } from './hosts.js';
import {
  checkPgConfig,
  type LifelinePgOptions,
  queryOptions,
  type ResolvedPgOptions,
  resolvePgOptions,
} from './options.js';
import { emptyProtectionStats, type Protection, type ProtectionStats, protect } from './protect.js';
import {
  isSubmittable,
  type LifelineQueryArrayConfig,
  type LifelineQueryConfig,
  type QueryRunOptions,
  runQuery,
  wrapClientQuery,
} from './query.js';
import { looksLikeRead, textOf } from './reads.js';
import { hostTrouble, ReadRouter, type ReplicaStats } from './replicas.js';
import { currentContext, markWrite, unpin } from './rw-context.js';
import type { PoolClient } from './types.js';
import { ReplyVerifier } from './verify.js';

/** pg.Pool's config, plus `lifeline` and libpq's target_session_attrs. */
export interface LifelinePoolConfig extends PoolConfig {
  lifeline?: LifelinePgOptions;
  target_session_attrs?: TargetSessionAttrs;
  /**
   * Streaming replicas that take reads (docs/pg.md, Reads on replicas): connection strings, or pg configs laid
   * over this config's own fields. Turns `lifeline.routeReads` on unless it says false.
   */
  replicas?: readonly (string | PoolConfig)[];
}

/** `pool.stats()`: the core pool's snapshot, and with replicas, where reads went and each host's health. */
export interface LifelinePgStats extends PoolStats {
  readonly replicas?: ReplicaStats;
}

/** `pool.options`: pg.Pool's, with pg's defaults filled in (max, maxUses, idleTimeoutMillis, …), without `lifeline`. */
export interface LifelinePoolOptions extends PoolOptions {
  target_session_attrs?: TargetSessionAttrs;
}

type QueryCallback = (err: Error | undefined, result: QueryResult) => void;
type ConnectCallback = (
  err: Error | undefined,
  client: PoolClient | undefined,
  done: (release?: Error | boolean) => void,
) => void;

/**
 * pg.Pool as a base class. @types/pg declares the counts as plain properties where pg-pool implements them as
 * getters, and TypeScript lets a subclass override a declared property only with another property: they are
 * left out of the base's type, and this class's getters supply them (the instance type still matches pg.Pool).
 */
interface PgPoolCounts extends PgPoolInstance {
  get totalCount(): number;
  get idleCount(): number;
  get waitingCount(): number;
  get expiredCount(): number;
}
const PgPool: new (config?: PoolConfig) => PgPoolCounts = pg.Pool;

const NOOP = () => {};

/**
 * What the server may have seen of a failed pool.query attempt. Lost connections carry core/lost.ts's mark
 * (runQuery's PgConnectionLostError, the raw death under an outcome-unknown failure), which classifyPostgres
 * reads; server errors are its SQLSTATE table (57P01/57P02/57P03/40001/40P01/53300 transient, others final and
 * passed through unchanged). The query's own deadline and a connect given up on are final: their text quotes
 * pg's errors, which the Postgres classifier would otherwise read as a connect that may be retried.
 */
function classifyAttempt(error: unknown, sent: boolean): Classification {
  if (error instanceof DeadlineExceededError || error instanceof PgConnectError) {
    return { kind: 'rejected', transient: false };
  }
  return classifyPostgres(error, sent);
}
const DESTROY = { destroy: true } as const;

/** A pooled client whose session is read-only, or read-write, for safe reads (no preference behind a pooler). */
const READ_ONLY_SESSION = (client: PoolClient): boolean => sessionReadOnly(client) === true;
const READ_WRITE_SESSION = (client: PoolClient): boolean => sessionReadOnly(client) === false;
function sessionReadOnly(client: PoolClient): boolean | undefined {
  const state = stateOf(client);
  return state.safeReads && !state.wrapReads ? state.readOnly : undefined;
}

/** pg.Pool's `log` messages for a client leaving the pool (maxUses is logged at release), and lifeline's for a dead one. */
const REMOVE_LOG: Partial<Record<EvictReason, string>> = {
  'idle-timeout': 'remove idle client',
  lifetime: 'remove expired client',
  dead: 'remove dead client',
};

/**
 * A drop-in for pg.Pool: same config, methods, overloads, events and counts, over connections that know
 * when they are dead. A dead client is never handed out, an idle one that dies leaves at once, and the death
 * of a checked-out client reaches its query as an error (never as an uncaught 'error' event). pool.query
 * retries what is safe: a statement that was not sent, a statement the server rolled back (57P01, 40001, …),
 * and one whose outcome is unknown only when declared idempotent.
 */
export class Pool extends PgPool {
  // Set by pg.Pool's constructor (pg-pool), as pg sets it: a copy with the password hidden and pg's defaults.
  declare options: LifelinePoolOptions;
  override ending = false;
  override ended = false;

  private readonly lifeline: ResolvedPgOptions;
  private readonly core: CorePool<PoolClient>;
  private readonly run: QueryRunOptions;
  private readonly acquireTimeoutMs: number;
  private readonly maxLifetimeMs: number;
  private readonly maxUses: number;
  private readonly lent = new Set<PoolClient>();
  /** Work issued and not settled yet: connects waiting for a client, pool.query operations (retries included). */
  private issued = 0;
  /** Safe reads and reply verification for every new connection (protect.ts). */
  private readonly protection: Protection;
  private readonly verifier: ReplyVerifier | undefined;
  /** pg's `log` option: called with pg.Pool's own messages at the same moments. */
  private readonly trace: ((...messages: unknown[]) => void) | undefined;
  /** Failing connects: when the callers waiting for a client get the failure (lifeline.connectRetryMs). */
  private readonly connects: ConnectFailures;
  /** Set by end() while issued work is still running: called when the last of it settles. */
  private allIssuedSettled: (() => void) | undefined;
  /** pool.query's retry policies, compiled once: as configured, and for a statement marked (not) idempotent. */
  private readonly executors: { default: Executor; idempotent: Executor; once: Executor };
  /** pool.query's first attempt without exec around it, when the executor is bare (query.ts, queryDirect). */
  private readonly direct: DirectPool;
  /** Reads on replicas (replicas.ts), when configured. */
  private readonly router: ReadRouter | undefined;
  /** Live clients, kept only with replicas: a demoted primary's are retired. */
  private readonly clients: Set<PoolClient> | undefined;

  constructor(config: LifelinePoolConfig = {}) {
    const { lifeline, replicas, ...rest } = config;
    // pg.Pool's constructor (pg-pool) only records its options (password hidden, pg's defaults) and empty
    // bookkeeping that nothing here reads: every method and count is this class's own. Extending it makes a
    // lifeline pool `instanceof pg.Pool`, which Prisma's adapter-pg and Drizzle test.
    super(rest);
    checkPgConfig(rest as Readonly<Record<string, unknown>>);
    this.trace = typeof rest.log === 'function' ? rest.log : undefined;
    this.lifeline = resolvePgOptions(lifeline, rest.keepAliveInitialDelayMillis);
    if (rest.pipeline) {
      // A pipelined client has several statements in flight: none of them could be told apart as sent or not.
      throw new InvalidOptionError(
        'lifeline-net/pg Pool',
        'pipeline',
        'is not supported (must be false)',
        rest.pipeline,
      );
    }
    const routing = this.lifeline.routeReads ?? (replicas !== undefined && replicas.length > 0);
    let plan = planHosts(rest, this.lifeline.targetSessionAttrs);
    const replicaHosts = routing ? replicaHostsOf(rest, replicas) : [];
    if (routing) plan = { ...plan, targetSessionAttrs: primaryTarget(plan) };
    this.run = { deadlineMs: this.lifeline.queryDeadlineMs, cancelTimeoutMs: this.lifeline.cancelTimeoutMs };
    const base: ExecuteOptions = {
      // pg has no statement deadline by default; neither does pool.query unless lifeline.queryDeadlineMs
      // says: without one, exec's longest (MAX_TIMER_MS, about 24.8 days). exec owns the deadline; each
      // attempt bounds its acquire by attempt.timeLeftMs(), and exec's abort of the attempt stops the statement.
      deadlineMs: this.lifeline.queryDeadlineMs ?? MAX_TIMER_MS,
      retry: {
        maxAttempts: this.lifeline.maxRetries + 1,
        baseDelayMs: this.lifeline.retryBackoffMs,
      },
      budget: new RetryBudget(),
      classify: classifyAttempt,
    };
    this.executors = {
      default: executor({ ...base, idempotent: this.lifeline.idempotent }),
      idempotent: executor({ ...base, idempotent: true }),
      once: executor({ ...base, idempotent: false }),
    };
    // pg waits forever by default; lifeline never does: connectionTimeoutMillis, else lifeline.acquireTimeoutMs.
    this.acquireTimeoutMs = rest.connectionTimeoutMillis || this.lifeline.acquireTimeoutMs;
    this.direct = {
      checkout: () => this.checkout(this.acquireTimeoutMs, true),
      lend: (client) => this.lend(client),
      checkin: (client, err) => this.checkin(client, err),
      settled: () => this.settled(),
      failed: this.failed,
      attempt: (attempt, config, values) => this.attempt(attempt, config, values),
      trace: this.trace,
      // Idle connections by session mode (safe reads): none to choose from when reads are not switched.
      prefer: this.lifeline.safeReads
        ? (read) => {
            preferIdle(this.core, read ? READ_ONLY_SESSION : READ_WRITE_SESSION);
          }
        : undefined,
      run: { deadlineMs: undefined, cancelTimeoutMs: this.lifeline.cancelTimeoutMs, forExec: true },
    };
    this.maxLifetimeMs = (rest.maxLifetimeSeconds ?? 0) * 1000;
    this.maxUses = rest.maxUses || Number.POSITIVE_INFINITY;

    const Client = (rest.Client ?? pg.Client) as unknown as ClientConstructor;
    const connectTimeoutMs = rest.connectionTimeoutMillis || this.lifeline.connectTimeoutMs;
    const { keepaliveIdleMs, keepaliveIntervalMs, keepaliveCount, userTimeoutMs, writeStallMs } =
      this.lifeline;
    // Postgres pushes NoticeResponse, ParameterStatus and LISTEN notifications unprompted: idle data is normal.
    const socketOptions = {
      keepaliveIdleMs,
      keepaliveIntervalMs,
      keepaliveCount,
      userTimeoutMs,
      writeStallMs,
      idleData: 'allow',
    } as const;
    const hosts = plan.hosts.map((h) => ({
      ...h,
      config: { ...h.config, connectionTimeoutMillis: connectTimeoutMs },
    }));
    const connectRotation = new HostRotation({ ...plan, hosts }, this.lifeline.hostDownMs);
    if (routing) {
      const { replicaCheckIntervalMs, maxReplicaLagMs, maxReplicaLagBytes } = this.lifeline;
      this.clients = new Set();
      this.router = new ReadRouter(
        [...plan.hosts, ...replicaHosts],
        Client,
        {
          intervalMs: replicaCheckIntervalMs,
          maxLagMs: maxReplicaLagMs,
          maxLagBytes: maxReplicaLagBytes,
          unref: Boolean(rest.allowExitOnIdle),
        },
        (host) =>
          new Pool({
            ...host.config,
            min: 0,
            lifeline: {
              ...lifeline,
              routeReads: false,
              targetSessionAttrs: 'any',
              // The router moves a failed read elsewhere: a replica's pool hands its failure over at once.
              maxRetries: 0,
              connectRetryMs: 0,
            },
          }),
      );
      this.router.monitor.onRoleChange = (health, from) => {
        if (from !== 'primary') return;
        // A demoted primary: its connections are retired; new ones go to the host that is primary now.
        for (const client of this.clients ?? []) {
          const state = stateOf(client);
          if (state.host.label === health.host.label) state.retire = true;
        }
      };
    }
    const { safeReads, verifyAfterMs, pooler } = this.lifeline;
    const stats = emptyProtectionStats();
    this.verifier =
      verifyAfterMs > 0
        ? new ReplyVerifier(Client, Math.max(2, verifyAfterMs), {
            stats,
            // The verifying connection found the host unreachable: new connections try the others first.
            hostDown: (host) => connectRotation.markDown(host),
          })
        : undefined;
    this.protection = {
      stats,
      sessions: new Map(),
      shared: false,
      safeReads,
      verifier: this.verifier,
      pooler,
      // A checked-out client's read lost with its connection runs again here (query.ts, rerouted).
      reroute: (config, values) => this.query(config as string, values),
    };

    const createTimeoutMs = connectTimeoutMs * plan.hosts.length + 1000;
    const { connectRetryMs, createBackoffMaxMs } = this.lifeline;
    this.connects = new ConnectFailures(
      connectRetryMs,
      createBackoffMaxMs + createTimeoutMs,
      createBackoffMaxMs,
    );
    this.core = new CorePool<PoolClient>({
      min: this.options.min,
      max: this.options.max,
      acquireTimeoutMs: this.acquireTimeoutMs,
      // Every host of the list may be tried, each within its connect timeout.
      createTimeoutMs,
      idleTimeoutMs: rest.idleTimeoutMillis === undefined ? 10_000 : (rest.idleTimeoutMillis ?? 0),
      maxLifetimeMs: this.maxLifetimeMs,
      lifetimeJitter: this.lifeline.lifetimeJitter,
      validateAfterIdleMs: this.lifeline.validateAfterIdleMs,
      // The core pool's default ceiling (5 s) would keep a restarted server waiting that long: see createBackoffMaxMs.
      createRetry: {
        baseDelayMs: this.lifeline.createBackoffBaseMs,
        maxDelayMs: this.lifeline.createBackoffMaxMs,
      },
      factory: {
        create: async (signal) => {
          this.trace?.('connecting new client');
          let client: PoolClient;
          try {
            client = await openOnAnyHost(connectRotation, Client, signal, socketOptions);
          } catch (error) {
            this.trace?.('client failed to connect', error);
            const failure = this.ending ? undefined : this.connects.failed(error);
            if (failure !== undefined) this.core.failWaiting(failure);
            throw error;
          }
          this.trace?.('new client connected');
          this.connects.succeeded();
          wrapClientQuery(client, this.run);
          try {
            await protect(client, this.protection);
          } catch (error) {
            await closeClient(client);
            throw error;
          }
          if (rest.onConnect) {
            try {
              await rest.onConnect(client);
            } catch (error) {
              await closeClient(client);
              throw error;
            }
          }
          this.router?.routeClientReads(client);
          return client;
        },
        destroy: (client) => closeClient(client),
        alive: (client) => isAlive(client) && stateOf(client).inFlight === 0,
        onDeath: (client, cb) => {
          const state = stateOf(client);
          state.onDeath = () => {
            // Read before cb: the core pool destroys an idle dead client at once, which sets `closing`.
            const onPurpose = state.closing;
            cb(state.death);
            // pg.Pool emits 'error' for an idle client's death (with err.client), and without a listener that
            // crashes the process. Emitted here only to those who listen; a checked-out client's death goes to
            // its query, and a connection the pool itself is closing (idle timeout, release(err), end(),
            // lifetime, maxUses) is no error at all: pg.Pool shows that as 'remove' only.
            const death = state.death;
            if (!state.checkedOut && !onPurpose && death && this.listenerCount('error') > 0) {
              (death as Error & { client?: PoolClient }).client = client;
              this.emit('error', death, client);
            }
          };
        },
      },
    });
    // observe's instrument() finds the core pool through this (docs/observe.md).
    registerPoolFacade(this, this.core);
    this.core.on('create', (client) => {
      this.clients?.add(client);
      this.emit('connect', client);
    });
    this.core.on('evict', (client, reason) => {
      this.clients?.delete(client);
      const message = REMOVE_LOG[reason];
      if (message !== undefined) this.trace?.(message);
      this.emit('remove', client);
    });
    if (rest.allowExitOnIdle) {
      this.on('release', (_err: unknown, client: PoolClient) =>
        (client as unknown as { unref(): void }).unref(),
      );
      this.on('acquire', (client: PoolClient) => (client as unknown as { ref(): void }).ref());
    }
  }

  override get totalCount(): number {
    const s = this.core.stats();
    return s.total + s.pendingCreates;
  }

  override get idleCount(): number {
    return this.core.stats().idle;
  }

  override get waitingCount(): number {
    return this.core.stats().waiting;
  }

  /**
   * Lent-out clients past their lifetime, retired when released (as pg.Pool counts them). The lifetime is the
   * core pool's: maxLifetimeSeconds shortened by lifeline.lifetimeJitter, per client, on the pool's clock.
   */
  override get expiredCount(): number {
    if (this.maxLifetimeMs <= 0) return 0;
    let n = 0;
    for (const client of this.lent) if (this.core.expired(client)) n++;
    return n;
  }

  /**
   * The core pool's full snapshot: counters, evictions by reason, the last connect error; with replicas, also
   * `replicas`: each host's role, lag, reads routed and fallbacks.
   */
  stats(): LifelinePgStats {
    const stats = this.core.stats();
    return this.router === undefined ? stats : { ...stats, replicas: this.router.stats() };
  }

  /** util.inspect(pool): pg's options with the password and any key material hidden, and the counts. */
  [inspect.custom](_depth: number, options: object, show: typeof inspect): string {
    const shown = {
      options: redactedOptions(this.options),
      totalCount: this.totalCount,
      idleCount: this.idleCount,
      waitingCount: this.waitingCount,
      ending: this.ending,
      ended: this.ended,
    };
    return `Pool ${show(shown, options)}`;
  }

  /** What safe reads and reply verification did so far (a copy; docs/pg.md). */
  protectionStats(): ProtectionStats {
    return { ...this.protection.stats };
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<PoolClient> | undefined {
    if (this.ending && callback !== undefined) {
      // pg.Pool answers a connect after end() at once, from inside connect().
      callback(new Error('Cannot use a pool after calling end on the pool'), undefined, NOOP);
      return undefined;
    }
    this.issued++;
    const pending = this.checkout(this.acquireTimeoutMs).then((client) => {
      this.settled();
      this.lend(client);
      let released = false;
      // Given back early by lifeline (query.ts, rerouted): the caller's own release() later is a no-op.
      let detached = false;
      client.release = (err?: Error | boolean) => {
        if (detached) return;
        if (released)
          throw new Error('Release called on client which has already been released to the pool.');
        released = true;
        this.checkin(client, err, true);
      };
      stateOf(client).detach = () => {
        if (released || detached) return;
        detached = true;
        this.checkin(client, true, true);
      };
      return client;
    }, this.failed);
    if (callback === undefined) return pending;
    // Called outside the promise chain, as pg calls it from its own stack: a throw inside the callback is an
    // uncaught exception, not an unhandled rejection of a promise the caller never saw.
    pending.then(
      (client) => process.nextTick(callback, undefined, client, client.release),
      (error: Error) => process.nextTick(callback, error, undefined, NOOP),
    );
    return undefined;
  }

  // pg's overloads, as @types/pg declares them (its `any` defaults included, so that untyped rows read as they
  // do with pg), with lifeline's per-query fields (deadlineMs, idempotent) accepted in the config.
  override query<T extends Submittable>(queryStream: T): T;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends any[] = any[], I = any[]>(
    queryConfig: LifelineQueryArrayConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryArrayResult<R>>;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends QueryResultRow = any, I = any[]>(
    queryConfig: LifelineQueryConfig<I>,
  ): Promise<QueryResult<R>>;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LifelineQueryConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryResult<R>>;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends any[] = any[], I = any[]>(
    queryConfig: LifelineQueryArrayConfig<I>,
    callback: (err: Error, result: QueryArrayResult<R>) => void,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | LifelineQueryConfig<I>,
    callback: (err: Error, result: QueryResult<R>) => void,
  ): void;
  // biome-ignore lint/suspicious/noExplicitAny: pg's default row type
  override query<R extends QueryResultRow = any, I = any[]>(
    queryText: string,
    values: QueryConfigValues<I>,
    callback: (err: Error, result: QueryResult<R>) => void,
  ): void;
  override query(first: unknown, second?: unknown, third?: unknown): unknown {
    if (typeof first === 'function') {
      const error = new Error('Passing a function as the first parameter to pool.query is not supported');
      setImmediate(first as (e: Error) => void, error);
      return undefined;
    }
    if (isSubmittable(first)) return this.querySubmittable(first, second as unknown[] | undefined);
    const callback = (typeof second === 'function' ? second : third) as QueryCallback | undefined;
    const values = typeof second === 'function' ? undefined : (second as unknown[] | undefined);
    const pending =
      this.router === undefined
        ? this.runPooled(first as string | LifelineQueryConfig, values)
        : this.routed(this.router, first as string | LifelineQueryConfig, values);
    if (callback === undefined) return pending;
    // Outside the promise chain, as in connect(); pg calls back with (err) alone on failure.
    pending.then(
      (result) => process.nextTick(callback, undefined, result),
      (error: Error) => process.nextTick(callback as (err: Error) => void, error),
    );
    return undefined;
  }

  override end(): Promise<void>;
  override end(callback: (err?: Error) => void): void;
  override end(callback?: (err?: Error) => void): Promise<void> | undefined {
    let pending: Promise<void>;
    if (this.ending) {
      pending = Promise.reject(new Error('Called end on pool more than once'));
    } else {
      this.trace?.('ending');
      this.ending = true;
      // What was issued before end() runs to its end (queued connects and queries are served; pg.Pool leaves
      // queued ones waiting forever); only new work is refused. Then, as pg's end(), it waits for every
      // checked-out client, however long.
      const issued =
        this.issued === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.allIssuedSettled = resolve;
            });
      pending = issued
        .then(() => this.router?.close())
        .then(() => this.core.drain({ timeoutMs: Number.POSITIVE_INFINITY }))
        .then(() => {
          this.verifier?.close();
          this.ended = true;
        });
    }
    if (callback === undefined) return pending;
    pending.then(() => callback(), callback);
    return undefined;
  }

  private checkout(timeoutMs: number, issuedBeforeEnd = false): Promise<PoolClient> {
    if (this.ending && !issuedBeforeEnd)
      return Promise.reject(new Error('Cannot use a pool after calling end on the pool'));
    // Connects just failed in a way waiting will not fix: until the next attempt is due, a caller that would
    // have to wait for a new connection gets that failure at once.
    const failure = this.connects.current();
    if (failure !== undefined && this.core.stats().idle === 0) {
      return Promise.reject(failure);
    }
    // Without options the core pool takes its allocation-free hot path.
    return this.core.acquire(
      timeoutMs >= this.acquireTimeoutMs ? undefined : { timeoutMs: Math.max(1, Math.ceil(timeoutMs)) },
    );
  }

  /** One piece of work counted in `issued` is settled (served, or failed). */
  private settled(): void {
    if (--this.issued > 0 || this.allIssuedSettled === undefined) return;
    const resolve = this.allIssuedSettled;
    this.allIssuedSettled = undefined;
    resolve();
  }

  private readonly failed = (error: unknown): never => {
    this.settled();
    // With replicas, a failure that may mean the roles changed (a demoted primary's 25006, a lost server)
    // has every host checked at once rather than at the next interval.
    if (this.router !== undefined && hostTrouble(error)) this.router.monitor.checkSoon();
    throw withPgWording(error);
  };

  /** The client is now the caller's: pg's 'acquire' event. */
  private lend(client: PoolClient): void {
    stateOf(client).checkedOut = true;
    this.lent.add(client);
    if (this.listenerCount('acquire') > 0) this.emit('acquire', client);
  }

  /** Back to the pool, or destroyed when `err` says so (pg's release(err)) or the connection is not reusable. */
  private checkin(client: PoolClient, err: unknown, byCaller = false): void {
    const state = stateOf(client);
    state.checkedOut = false;
    state.uses++;
    this.lent.delete(client);
    if (this.router !== undefined) unpin(client);
    if (this.listenerCount('release') > 0)
      this.emit('release', err instanceof Error ? err : undefined, client);
    // release(err) from the caller destroys, as in pg. For pool.query's own failures lifeline knows better: a
    // server error (a failed constraint, a syntax error) leaves the session usable, a session-ending one has
    // set `retire` (which alive() reports), and a cancelled deadline is waited out below.
    const destroy =
      (byCaller
        ? Boolean(err)
        : Boolean(err) && !(err instanceof DeadlineExceededError) && sqlState(err) === undefined) ||
      state.uses >= this.maxUses;
    if (state.uses >= this.maxUses) this.trace?.('remove expended client');
    const busy = state.busyUntil;
    if (busy !== undefined) {
      state.busyUntil = undefined;
      // A cancelled query is still answering; a client that stays rejoins once its answer and the cancel are
      // in. One that goes is closed now: that ends the query too.
      if (!destroy) {
        busy.then(() => this.core.release(client));
        return;
      }
    }
    this.core.release(client, destroy ? DESTROY : undefined);
  }

  private querySubmittable<T extends Submittable>(query: T, values: unknown[] | undefined): T {
    this.issued++;
    this.checkout(this.acquireTimeoutMs).then(
      (client) => {
        this.settled();
        this.lend(client);
        const q = query as T & { callback?: (err: Error | null) => void };
        const done = q.callback;
        q.callback = (err: Error | null, ...rest: unknown[]) => {
          this.checkin(client, err ?? undefined);
          (done as ((e: Error | null, ...r: unknown[]) => void) | undefined)?.(err, ...rest);
        };
        (client.query as unknown as (q: T, v: unknown) => void)(query, values);
      },
      (error: Error) => {
        this.settled();
        const q = query as T & { handleError?: (e: Error) => void };
        q.handleError?.(withPgWording(error) as Error);
      },
    );
    return query;
  }

  /**
   * One statement on any client, through lifeline's execute(): each attempt's failure is classified by what
   * the server may have seen (runQuery and classifyAttempt), only the safe ones run again, with jittered
   * backoff, within the pool's retry budget, and all attempts share the statement's deadline.
   */
  private runPooled(
    config: string | LifelineQueryConfig,
    values: unknown[] | undefined,
    deadlineLeft?: number,
    issuedBeforeEnd = false,
  ): Promise<QueryResult> {
    const own = queryOptions(config);
    if (own instanceof InvalidOptionError) return Promise.reject(own);
    const run =
      own.idempotent === undefined
        ? this.executors.default
        : own.idempotent
          ? this.executors.idempotent
          : this.executors.once;
    if (this.ending && !issuedBeforeEnd)
      return Promise.reject(new Error('Cannot use a pool after calling end on the pool'));
    this.issued++;
    const deadlineMs = deadlineLeft ?? own.deadlineMs;
    // No deadline and nothing else exec must put around an attempt: the first one runs on callbacks.
    if (deadlineMs === undefined && run.bare()) return queryDirect(this.direct, run, config, values);
    const op = (attempt: Attempt) => this.attempt(attempt, config, values);
    const pending = deadlineMs === undefined ? run(op) : run(op, { deadlineMs });
    return pending.then((result) => {
      this.settled();
      return result;
    }, this.failed);
  }

  /**
   * pool.query with replicas: a read (reads.ts's classification; pool.query runs outside any transaction) goes
   * through the router, anything else, or anything forced (`primary: true`, onPrimary), to the primary. In a
   * read-your-writes context a statement's answer from the primary marks the context written.
   */
  private routed(
    router: ReadRouter,
    config: string | LifelineQueryConfig,
    values: unknown[] | undefined,
  ): Promise<QueryResult> {
    const context = currentContext();
    const text = textOf(config);
    const forced = context?.primary === true || (typeof config === 'object' && config.primary === true);
    if (!forced && text !== undefined && looksLikeRead(text)) {
      if (this.ending) return Promise.reject(new Error('Cannot use a pool after calling end on the pool'));
      const own = queryOptions(config);
      if (own instanceof InvalidOptionError) return Promise.reject(own);
      this.issued++;
      return router
        .read(config, values, own.deadlineMs ?? this.lifeline.queryDeadlineMs, context, (left) =>
          this.runPooled(config, values, left, true),
        )
        .then(
          (result) => {
            this.settled();
            return result;
          },
          (error: unknown) => {
            this.settled();
            throw error;
          },
        );
    }
    const pending = this.runPooled(config, values);
    if (context === undefined || forced) return pending;
    return pending.then(
      (result) => {
        markWrite(context, router);
        return result;
      },
      (error: unknown) => {
        markWrite(context, router);
        throw error;
      },
    );
  }

  private attempt(
    attempt: Attempt,
    config: string | QueryConfig,
    values: unknown[] | undefined,
  ): Promise<QueryResult> {
    // No AbortSignal here: creating one per query costs more than the rest of the attempt. exec owns the
    // deadline: what is left of it bounds the acquire, and exec's abort of the attempt (onAbort) stops the
    // statement, so no timer of the adapter's own carries it.
    return this.checkout(Math.min(this.acquireTimeoutMs, attempt.timeLeftMs()), true).then(
      (client) =>
        new Promise<QueryResult>((resolve, reject) => {
          this.lend(client);
          const run: QueryRunOptions = {
            deadlineMs: undefined,
            cancelTimeoutMs: this.run.cancelTimeoutMs,
            attempt,
          };
          try {
            this.trace?.('dispatching query');
            runQuery(client, config, values, run, (err, result, sent) => {
              this.trace?.('query dispatched');
              this.checkin(client, err ?? undefined);
              if (err === null) {
                resolve(result as QueryResult);
                return;
              }
              if (sent) attempt.markSent();
              // runQuery reports a lost reply as the connection's death marked sent (core/lost.ts), and exec
              // decides: retried when idempotent, else OutcomeUnknownError, built there once.
              reject(err);
            });
          } catch (error) {
            // A query pg cannot even build (pool.query(undefined)) throws before anything is sent; the client
            // goes back, and is thrown away, as pg.Pool does.
            this.checkin(client, error);
            reject(error);
          }
        }),
    );
  }
}
brand(Pool, 'pg.Pool');

/** Which servers new primary connections go to: with replicas, a writable one (target_session_attrs). */
function primaryTarget(plan: {
  hosts: readonly PgHost[];
  targetSessionAttrs: TargetSessionAttrs;
}): TargetSessionAttrs {
  const target = plan.targetSessionAttrs;
  if (target === 'read-write' || target === 'primary') return target;
  if (target !== 'any') {
    throw new InvalidOptionError(
      'lifeline-net/pg Pool',
      'targetSessionAttrs',
      'must be any, read-write or primary when reads go to replicas (the pool itself connects to the primary)',
      target,
    );
  }
  return plan.hosts.length > 1 ? 'read-write' : 'any';
}

/** The `replicas` entries as hosts: a string is a connection string, an object a pg config over the pool's fields. */
function replicaHostsOf(base: PoolConfig, replicas: readonly (string | PoolConfig)[] | undefined): PgHost[] {
  const { connectionString: _, host: _h, port: _p, ...fields } = base;
  const valid =
    replicas === undefined ||
    (Array.isArray(replicas) &&
      replicas.every((r) => typeof r === 'string' || (typeof r === 'object' && r !== null)));
  if (!valid) {
    throw new InvalidOptionError(
      'lifeline-net/pg Pool',
      'replicas',
      'must be an array of connection strings or pg configs',
      Array.isArray(replicas) ? '[…]' : typeof replicas,
    );
  }
  const out: PgHost[] = [];
  for (const entry of replicas ?? []) {
    const config =
      typeof entry === 'string' ? { ...fields, connectionString: entry } : { ...fields, ...entry };
    out.push(...planHosts(config, 'any').hosts);
  }
  return out;
}

/** pg's options for display: a connection string's password, `password` and TLS key material replaced by `***`. */
function redactedOptions(options: LifelinePoolOptions): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...options };
  if (typeof shown.connectionString === 'string') shown.connectionString = redact(shown.connectionString);
  if (shown.password !== undefined) shown.password = '***';
  if (typeof shown.ssl === 'object' && shown.ssl !== null) {
    const ssl: Record<string, unknown> = { ...(shown.ssl as Record<string, unknown>) };
    for (const key of ['key', 'passphrase', 'pfx']) if (ssl[key] !== undefined) ssl[key] = '***';
    shown.ssl = ssl;
  }
  return shown;
}
