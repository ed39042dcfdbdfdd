// One statement on one client: its deadline, CancelRequest, and what the server may have seen when it fails.
import type net from 'node:net';
import type { PoolClient, QueryConfig, QueryResult, Submittable } from 'pg';
import { markLost } from '../../core/lost.js';
import { InvalidOptionError } from '../../core/options.js';
import { timerMs } from '../../core/time.js';
import { DeadlineExceededError, OutcomeUnknownError } from '../../exec/errors.js';
import type { Attempt } from '../../exec/index.js';
import { retiresConnection, sqlState } from '../../protocols/postgres.js';
import { sendCancelRequest } from './cancel.js';
import { type ClientState, stateOf } from './client.js';
import { PgConnectionLostError, PgReadLostError, PgTransactionLostError } from './errors.js';
import { queryOptions } from './options.js';
import { looksLikeRead, SQLSTATE_READ_ONLY, sendSwitched, sendWrapped, textOf } from './reads.js';

/** pg's QueryConfig plus lifeline's per-query fields; pg ignores the extra ones. */
export interface LifelineQueryConfig<I = unknown[]> extends QueryConfig<I> {
  /** Running this statement twice is harmless: retry it even when its outcome is unknown. */
  idempotent?: boolean;
  /** Overrides the pool's `lifeline.queryDeadlineMs` for this statement. */
  deadlineMs?: number;
  /** With replicas (docs/pg.md): run this statement on the primary even if it is a read. */
  primary?: boolean;
}

/** pg's QueryArrayConfig (rows as arrays) plus lifeline's per-query fields. */
export interface LifelineQueryArrayConfig<I = unknown[]> extends LifelineQueryConfig<I> {
  rowMode: 'array';
}

type QueryCallback = (err: Error | null, result?: QueryResult) => void;

/** pg's client.query before lifeline wrapped it; called with a callback, which is pg's cheapest path. */
type RawQuery = (
  config: string | QueryConfig,
  values: unknown[] | undefined,
  callback: QueryCallback,
) => void;

export interface QueryRunOptions {
  /** Time the statement may take (a checked-out client's own timer); ignored with `attempt`. */
  deadlineMs: number | undefined;
  cancelTimeoutMs: number;
  /**
   * pool.query's attempt: exec owns the deadline, so no timer is armed here; the statement is stopped
   * (CancelRequest, or the connection closed) when exec aborts the attempt.
   */
  attempt?: Attempt;
  /**
   * pool.query's statement (with or without `attempt`): a lost reply goes back as the connection's death
   * marked sent, for exec to classify, instead of as OutcomeUnknownError.
   */
  forExec?: boolean;
}

const RAW = Symbol('lifeline.pg.rawQuery');
type Wrapped = PoolClient & { [RAW]?: RawQuery };

export function isSubmittable(value: unknown): value is Submittable {
  return typeof value === 'object' && value !== null && typeof (value as Submittable).submit === 'function';
}

/**
 * Runs one statement on `client` and says precisely how it failed. A connection death becomes
 * `PgConnectionLostError` when no byte of the statement left (the server cannot have seen it),
 * `OutcomeUnknownError` when it was written, `PgTransactionLostError` inside a transaction; server errors
 * pass through unchanged (callers branch on `err.code`), and the session-ending ones retire the client.
 * The callback's `sent` says whether any byte of the statement was written, for the retry decision.
 * `looksRead`: whether the statement's text looks like a read, when the caller already knows (direct.ts).
 */
export function runQuery(
  client: PoolClient,
  config: string | QueryConfig,
  values: unknown[] | undefined,
  options: QueryRunOptions,
  callback: (err: Error | null, result: QueryResult | undefined, sent: boolean) => void,
  looksRead?: boolean,
): void {
  const state = stateOf(client);
  const raw = (client as Wrapped)[RAW] ?? (client.query as unknown as RawQuery);
  const txBefore = client.getTransactionStatus();
  if (state.death !== undefined || state.socket.destroyed) {
    const err = state.death ?? new Error('socket closed');
    process.nextTick(callback, lost(state, txBefore, false, err), undefined, false);
    return;
  }
  const socket = state.socket;
  const before = bytesWritten(socket);
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  const { deadlineMs, attempt } = options;
  // Only a query with a deadline pays for the closure that stops it (a client's hot path has none).
  const stop =
    attempt === undefined && (deadlineMs === undefined || deadlineMs <= 0)
      ? undefined
      : (): void => {
          if (answered) return;
          answered = true;
          if (timer !== undefined) clearTimeout(timer);
          const cancelSent = cancel(client, state, options.cancelTimeoutMs);
          callback(
            new DeadlineExceededError(
              deadlineMs ?? 0,
              1,
              undefined,
              cancelSent
                ? `before the query on ${state.host.label} finished; a CancelRequest was sent so the server stops it`
                : `before the query on ${state.host.label} finished; the connection was closed to stop it`,
            ),
            undefined,
            bytesWritten(socket) !== before,
          );
        };
  // Safe reads (reads.ts): a read goes to a read-only session, anything else to a read-write one; the
  // session is switched in the statement's own round trip when it is the other kind.
  const routed = state.safeReads && txBefore === 'I' && (state.wrapReads || state.readOnly !== undefined);
  const read = routed && (looksRead ?? isRead(textOf(config)));
  const live = state.watched ? state.live : undefined;
  let readOnly = read && (state.wrapReads || state.readOnly === true);
  let retried = false;
  // Made as an argument (see `unnamed`): one closure per statement, and no more.
  const done = unnamed((err: Error | null, result?: QueryResult): void => {
    if (
      readOnly &&
      !retried &&
      err !== null &&
      sqlState(err) === SQLSTATE_READ_ONLY &&
      !answered &&
      state.death === undefined
    ) {
      // Taken for a read, but it writes (nextval, FOR UPDATE, a function that writes): the server refused
      // it before it changed anything. Once more, on this session switched to read-write.
      retried = true;
      readOnly = false;
      if (state.stats !== undefined) state.stats.writesRerun++;
      if (state.wrapReads) raw.call(client, config, values, done);
      else {
        state.readOnly = false;
        sendSwitched(client, raw, socket, false, config, values, noop, done);
      }
      return;
    }
    live?.replyReceived();
    state.inFlight--;
    if (timer !== undefined) clearTimeout(timer);
    if (answered) {
      state.afterLateAnswer?.();
      return;
    }
    answered = true;
    const sent = bytesWritten(socket) !== before;
    if (err === null || err === undefined) callback(null, result, sent);
    else
      callback(
        translate(err, state, txBefore, sent, readOnly, attempt !== undefined || options.forExec === true),
        undefined,
        sent,
      );
  });
  state.inFlight++;
  try {
    live?.expectReply();
    if (read && state.stats !== undefined) state.stats.readsReadOnly++;
    if (state.wrapReads) {
      if (read) sendWrapped(client, raw, socket, config, values, done);
      else raw.call(client, config, values, done);
    } else if (routed && read !== state.readOnly) {
      if (state.stats !== undefined) state.stats.sessionSwitches++;
      readOnly = read;
      state.readOnly = read;
      sendSwitched(client, raw, socket, read, config, values, noop, done);
    } else raw.call(client, config, values, done);
  } catch (error) {
    live?.replyReceived();
    // pg throws at once for a query it cannot even build (undefined): nothing was sent.
    state.inFlight--;
    throw error;
  }
  if (stop !== undefined) {
    if (attempt !== undefined) attempt.onAbort(stop);
    else timer = setTimeout(stop, deadlineMs);
  }
}

/**
 * Sends the CancelRequest for the client's backend and keeps the client out of circulation until both the
 * server's answer to the cancelled query and the cancel's own delivery are in: a cancel that lands after the
 * client moved on would cancel the next statement. A server that cannot be reached in `cancelTimeoutMs`
 * gets the connection closed instead.
 */
function cancel(client: PoolClient, state: ClientState, cancelTimeoutMs: number): boolean {
  const { processID, secretKey } = client as unknown as { processID: unknown; secretKey: unknown };
  const answered = new Promise<void>((resolve) => {
    state.afterLateAnswer = () => {
      state.afterLateAnswer = undefined;
      resolve();
    };
  });
  if (typeof processID !== 'number' || typeof secretKey !== 'number') {
    state.retire = true;
    closeToStop(client, state);
    state.busyUntil = answered;
    return false;
  }
  const delivered = sendCancelRequest(
    { host: state.host.host, port: state.host.port, processID, secretKey },
    cancelTimeoutMs,
  ).then((ok) => {
    if (!ok) closeToStop(client, state);
  });
  const giveUp = setTimeout(() => closeToStop(client, state), timerMs(cancelTimeoutMs * 2));
  giveUp.unref();
  state.busyUntil = Promise.all([answered, delivered]).then(() => clearTimeout(giveUp));
  return true;
}

/**
 * Closes the connection at once to stop its statement. lifeline's own decision, so no 'error' event: not on
 * the pool (`closing`), and not on the client — pg emits one for a connection that ends without client.end(),
 * so end() goes first (the running query then fails with pg's "Connection terminated").
 */
function closeToStop(client: PoolClient, state: ClientState): void {
  state.closing = true;
  client.end().catch(() => {});
  state.socket.destroy();
}

const noop = (): void => {};

/**
 * Returns `fn`. A closure made as an argument gets no inferred name: under tsx (tests, benches), esbuild's
 * keepNames wraps every closure that would get one in `__name(fn, 'name')`, an Object.defineProperty per
 * creation, which on a per-statement closure costs more than the closure itself. The built package has no
 * such wrapper; this keeps the two alike.
 */
function unnamed<F extends (...args: never[]) => unknown>(fn: F): F {
  return fn;
}

/** node:net's own counters behind `socket.bytesWritten` (stable since Node 12; checked before use). */
interface NetCounters {
  _bytesDispatched?: unknown;
  _pendingData?: unknown;
}

/**
 * `socket.bytesWritten`, without its cost when nothing is buffered: the getter copies the write buffer into a
 * new array and iterates it on every read, twice per statement here. With nothing buffered or pending it
 * equals the bytes handed to the kernel (`_bytesDispatched`), which is read directly; otherwise, or on a
 * runtime without that counter, the getter answers.
 */
function bytesWritten(socket: net.Socket): number {
  const counters = socket as unknown as NetCounters;
  const dispatched = counters._bytesDispatched;
  if (typeof dispatched === 'number' && socket.writableLength === 0 && counters._pendingData == null) {
    return dispatched;
  }
  return socket.bytesWritten;
}

export function isRead(text: string | undefined): boolean {
  return text !== undefined && looksLikeRead(text);
}

function translate(
  err: Error,
  state: ClientState,
  txBefore: string | null,
  sent: boolean,
  readOnly = false,
  forExec = false,
): Error {
  const code = sqlState(err);
  if (code !== undefined) {
    if (!retiresConnection(code)) return err;
    state.retire = true;
    if (txBefore === 'T' || txBefore === 'E') return new PgTransactionLostError(state.host.label, err);
    // The session ended (57P01, 08xxx: a pooler's "server conn crashed?") under a read that ran read-only:
    // it changed nothing, so it runs again like any lost read.
    return readOnly ? new PgReadLostError(state.host.label, err) : err;
  }
  if (state.death === undefined && !state.socket.destroyed) return err;
  return lost(state, txBefore, sent, err, readOnly, forExec);
}

function lost(
  state: ClientState,
  txBefore: string | null,
  sent: boolean,
  cause: unknown,
  readOnly = false,
  forExec = false,
): Error {
  if (txBefore === 'T' || txBefore === 'E') return new PgTransactionLostError(state.host.label, cause);
  // Before deathInTransaction: a read in its own read-only transaction (sendWrapped) dies inside that one.
  if (readOnly) return new PgReadLostError(state.host.label, cause);
  if (state.deathInTransaction) return new PgTransactionLostError(state.host.label, cause);
  // Reply verification (verify.ts) found the server idle since before the statement left: never received.
  if (!sent || state.replyLost?.neverReceived === true)
    return new PgConnectionLostError(state.host.label, cause);
  // Sent, and the reply lost. For pool.query the outcome goes to exec as it is (the death, marked sent): exec
  // builds OutcomeUnknownError, knowing the attempt and whether the statement is idempotent. A checked-out
  // client's caller gets it from here.
  if (forExec && typeof cause === 'object' && cause !== null) return markLost(cause as Error, 'sent');
  return new OutcomeUnknownError(1, cause);
}

/**
 * Replaces `client.query` with one that runs through `runQuery`, so a checked-out client (and the code of
 * Kysely and Drizzle, which use checked-out clients) gets the same deadlines and error meanings as
 * pool.query, with pg's overloads: (text | config, values?, callback?) and submittables passed through.
 */
export function wrapClientQuery(client: PoolClient, options: QueryRunOptions): void {
  const raw = client.query as unknown as RawQuery & ((...args: unknown[]) => unknown);
  Object.defineProperty(client, RAW, { value: raw, enumerable: false });
  const query = (first: unknown, second?: unknown, third?: unknown): unknown => {
    if (first === null || first === undefined || isSubmittable(first)) {
      return raw.call(client, first as unknown as string, second as unknown[], third as QueryCallback);
    }
    const callback = (typeof second === 'function' ? second : third) as QueryCallback | undefined;
    const values = typeof second === 'function' ? undefined : (second as unknown[] | undefined);
    const config = first as string | LifelineQueryConfig;
    const own = queryOptions(config);
    if (own instanceof InvalidOptionError) {
      if (callback === undefined) return Promise.reject(own);
      process.nextTick(callback, own);
      return undefined;
    }
    const given = own.deadlineMs;
    const run = given === undefined ? options : { ...options, deadlineMs: given };
    if (callback !== undefined) {
      runQuery(client, config, values, run, (err, result) =>
        rerouted(client, config, values, err, result, callback),
      );
      return undefined;
    }
    return new Promise((resolve, reject) => {
      runQuery(client, config, values, run, (err, result) =>
        rerouted(client, config, values, err, result, (e, r) => (e === null ? resolve(r) : reject(e))),
      );
    });
  };
  (client as unknown as { query: typeof query }).query = query;
}

/**
 * A checked-out client's connection died under a read that ran read-only (PgReadLostError): it changed
 * nothing, so it runs again on another pooled connection (Kysely checks out a client for every statement,
 * so this is how an ORM's reads ride out a lost connection). This client stays dead; its release destroys it.
 */
function rerouted(
  client: PoolClient,
  config: string | QueryConfig,
  values: unknown[] | undefined,
  err: Error | null,
  result: QueryResult | undefined,
  callback: QueryCallback,
): void {
  // Only for the caller of a checked-out client: not for onConnect's statements during a create.
  const state = err instanceof PgReadLostError ? stateOf(client) : undefined;
  const reroute = state?.checkedOut === true ? state.reroute : undefined;
  if (reroute === undefined) {
    callback(err, result);
    return;
  }
  // The dead connection's slot goes back first: with every slot held by a caller whose read is being
  // rerouted, the reruns would otherwise wait for slots only their own callers will free.
  state?.detach?.();
  if (state?.stats !== undefined) state.stats.readsRerouted++;
  reroute(config, values).then(
    (again) => callback(null, again),
    (error: Error) => callback(error),
  );
}
