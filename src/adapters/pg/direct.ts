// pool.query's cheapest path: the first attempt on callbacks, and pooled clients matched to statements by session mode.
import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import type { Attempt, Executor } from '../../exec/index.js';
import { stateOf } from './client.js';
import { isRead, type QueryRunOptions, runQuery } from './query.js';
import { textOf } from './reads.js';

/** What pool.ts lends a statement run on its direct path (its own private steps). */
export interface DirectPool {
  /** A client within the pool's acquire bound (pool.query's: issued before any end()). */
  checkout(): Promise<PoolClient>;
  lend(client: PoolClient): void;
  checkin(client: PoolClient, err: unknown): void;
  /** One issued piece of work settled; `failed` also words the error as pg.Pool would, and throws it. */
  settled(): void;
  failed(error: unknown): never;
  /** Runs attempt 2 and later under exec (pool.ts's attempt). */
  attempt(
    attempt: Attempt,
    config: string | QueryConfig,
    values: unknown[] | undefined,
  ): Promise<QueryResult>;
  trace: ((...messages: unknown[]) => void) | undefined;
  /**
   * Called before a statement's acquire: with idle connections, the next one taken should have its session
   * in the statement's mode (read-only for a read) when one has (src/pool/prefer.ts), which saves a switch.
   */
  prefer: ((read: boolean) => void) | undefined;
  /** Options of a statement on the direct path: no deadline, errors for exec. */
  run: QueryRunOptions;
}

/** How far past the oldest waiting statement a client looks for one that wants its session's mode. */
const LOOKAHEAD = 8;
/** The oldest statement, passed over this many times, takes the next client whatever its session's mode. */
const MAX_PASSED = 4;

/**
 * The statements of one pool waiting for a client, oldest first, and as many acquires pending in the core
 * pool. The core pool decides when a client is free (its order, its timeouts, its creates, its checks); this
 * decides which waiting statement runs on it. Safe reads (reads.ts) keep a session read-only for reads and
 * switch it, with a pipelined SET, for anything else: a client whose session is already in the mode a
 * waiting statement wants saves that SET (a statement, and the server's work for it). So a client goes to
 * the oldest statement unless one of the next LOOKAHEAD wants its mode and the oldest does not; the oldest,
 * once passed over MAX_PASSED times, is served next whatever the mode, so none waits for long behind younger
 * ones (at most MAX_PASSED + 1 freed clients per statement ahead of it).
 * An acquire that fails fails the oldest statement (the one that has waited longest), as a FIFO queue would.
 */
class DirectQueue {
  private readonly waiting: DirectQuery[] = [];
  // Made once per pool: an acquire's reactions allocate no closure per statement.
  readonly served = (client: PoolClient): void => this.pick(client).lent(client);
  readonly refused = (error: unknown): void => (this.waiting.shift() as DirectQuery).retry(error, false);

  constructor(readonly pool: DirectPool) {}

  add(query: DirectQuery): void {
    this.waiting.push(query);
    this.pool.prefer?.(query.read);
    this.pool.checkout().then(this.served, this.refused);
  }

  private pick(client: PoolClient): DirectQuery {
    const waiting = this.waiting;
    const oldest = waiting[0] as DirectQuery;
    if (waiting.length === 1 || oldest.passed >= MAX_PASSED) return waiting.shift() as DirectQuery;
    const state = stateOf(client);
    // No preference where sessions are never switched (safe reads off, reads wrapped behind a pooler).
    if (!state.safeReads || state.wrapReads || state.readOnly === undefined)
      return waiting.shift() as DirectQuery;
    const mode = state.readOnly;
    if (oldest.read === mode) return waiting.shift() as DirectQuery;
    const end = Math.min(waiting.length, LOOKAHEAD + 1);
    for (let i = 1; i < end; i++) {
      const query = waiting[i] as DirectQuery;
      if (query.read !== mode) continue;
      // Only the oldest counts its passes: the others move up as it is served, so each waits at most
      // MAX_PASSED + 1 clients per statement ahead of it.
      oldest.passed++;
      waiting.splice(i, 1);
      return query;
    }
    return waiting.shift() as DirectQuery;
  }
}

const queues = new WeakMap<DirectPool, DirectQueue>();

/**
 * pool.query when its executor is bare (no deadline, nothing exec must put around an attempt): the first
 * attempt runs here on callbacks, with one promise of its own (the caller's) beside the acquire's, and no
 * object of exec's. A success records itself with the executor (the retry budget); a failure is handed to
 * the executor as its attempt 1, which classifies it and runs whatever retry is safe, exactly as if exec had
 * run that attempt (docs/pg.md, Overhead).
 */
export function queryDirect(
  pool: DirectPool,
  exec: Executor,
  config: string | QueryConfig,
  values: unknown[] | undefined,
): Promise<QueryResult> {
  let queue = queues.get(pool);
  if (queue === undefined) {
    queue = new DirectQueue(pool);
    queues.set(pool, queue);
  }
  const query = new DirectQuery(pool, exec, config, values);
  const promise = new Promise<QueryResult>((resolve, reject) => {
    query.resolve = resolve;
    query.reject = reject;
  });
  queue.add(query);
  return promise;
}

class DirectQuery {
  resolve!: (result: QueryResult) => void;
  reject!: (error: unknown) => void;
  client: PoolClient | undefined = undefined;
  /** Times a younger statement took a client before this one (DirectQueue). */
  passed = 0;
  /** The text looks like a read (safe reads run it on a read-only session). */
  readonly read: boolean;

  constructor(
    private readonly pool: DirectPool,
    private readonly exec: Executor,
    private readonly config: string | QueryConfig,
    private readonly values: unknown[] | undefined,
  ) {
    this.read = isRead(textOf(config));
  }

  lent(client: PoolClient): void {
    const pool = this.pool;
    pool.lend(client);
    this.client = client;
    pool.trace?.('dispatching query');
    try {
      runQuery(
        client,
        this.config,
        this.values,
        pool.run,
        (err, result, sent) => this.answered(err, result, sent),
        this.read,
      );
    } catch (error) {
      // A query pg cannot even build (pool.query(undefined)) throws before anything is sent; the client goes
      // back, and is thrown away, as pg.Pool does.
      pool.checkin(client, error);
      this.retry(error, false);
    }
  }

  answered(err: Error | null, result: QueryResult | undefined, sent: boolean): void {
    const pool = this.pool;
    pool.trace?.('query dispatched');
    pool.checkin(this.client as PoolClient, err ?? undefined);
    if (err !== null) {
      this.retry(err, sent);
      return;
    }
    this.exec.succeeded();
    pool.settled();
    this.resolve(result as QueryResult);
  }

  /** The first attempt failed: exec takes it from here, as its own attempt 1. */
  retry(error: unknown, sent: boolean): void {
    const { pool, config, values } = this;
    let first = true;
    this.exec((attempt) => {
      if (!first) return pool.attempt(attempt, config, values);
      first = false;
      if (sent) attempt.markSent();
      return Promise.reject(error);
    }).then(
      (result) => {
        pool.settled();
        this.resolve(result);
      },
      (failure: unknown) => {
        try {
          pool.failed(failure);
        } catch (worded) {
          this.reject(worded);
        }
      },
    );
  }
}
