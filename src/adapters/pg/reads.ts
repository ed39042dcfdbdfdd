// Safe reads: which statements run read-only, and how a session is switched within the statement's round trip.
import type { PoolClient, QueryConfig, QueryResult } from 'pg';

/**
 * Safe reads: a statement that looks like a read runs on a session the server keeps read-only
 * (`default_transaction_read_only = on`), where every write fails with SQLSTATE 25006 before changing
 * anything. The look is only a routing guess; the server's refusal is the proof. So a read that lost its
 * connection after it was sent changed nothing and may run again, and a statement wrongly taken for a read
 * (`select nextval('s')`, `select f()` where f writes, `select … for update`) fails with 25006 and is run
 * again, once, on the same connection switched back to read-write.
 */

export { looksLikeRead } from '../../protocols/sql-reads.js';

/** The statement's text, when it has one (a QueryConfig may name a prepared statement without text). */
export function textOf(config: string | QueryConfig): string | undefined {
  if (typeof config === 'string') return config;
  return typeof config?.text === 'string' ? config.text : undefined;
}

const SET_READ_ONLY = 'SET default_transaction_read_only = on';
const SET_READ_WRITE = 'SET default_transaction_read_only = off';

export const SQLSTATE_READ_ONLY = '25006';

type RawCallback = (err: Error | null, result?: QueryResult) => void;
type RawQuery = (config: string | QueryConfig, values: unknown[] | undefined, callback: RawCallback) => void;
interface Pipelining {
  pipeline: boolean;
  _queryQueue?: unknown[];
}

/**
 * Whether the session can be switched in the statement's own round trip: pg's queue is empty (its
 * pipeline mode would send anything queued behind ours at once), the client is not in pipeline mode.
 */
function canPipeline(client: PoolClient): boolean {
  const c = client as unknown as Pipelining;
  return c.pipeline === false && (c._queryQueue?.length ?? 0) === 0;
}

/**
 * Sends `SET default_transaction_read_only = on|off` and then the statement; the server runs them in that
 * order, so the SET has taken effect before the statement runs. In one write and one round trip when pg's
 * queue is empty: pg's pipeline mode is turned on for these two queries only (each has its own Sync), and
 * off again when the statement's answer is in. Otherwise (statements already queued on a checked-out
 * client) both join pg's queue, one round trip each.
 */
export function sendSwitched(
  client: PoolClient,
  raw: RawQuery,
  socket: { cork(): void; uncork(): void },
  readOnly: boolean,
  config: string | QueryConfig,
  values: unknown[] | undefined,
  switched: (ok: boolean) => void,
  callback: RawCallback,
): void {
  const c = client as unknown as Pipelining;
  if (!canPipeline(client)) {
    raw.call(client, readOnly ? SET_READ_ONLY : SET_READ_WRITE, undefined, (err) => switched(err === null));
    raw.call(client, config, values, callback);
    return;
  }
  c.pipeline = true;
  socket.cork();
  try {
    raw.call(client, readOnly ? SET_READ_ONLY : SET_READ_WRITE, undefined, (err) => switched(err === null));
    raw.call(client, config, values, (err, result) => {
      c.pipeline = false;
      callback(err, result);
    });
  } catch (error) {
    c.pipeline = false;
    throw error;
  } finally {
    socket.uncork();
  }
}

/**
 * Behind a pooler (PgBouncer) a session setting may land on a server connection other clients share next
 * (transaction pooling): there a read runs in its own read-only transaction instead, `BEGIN READ ONLY`, the
 * statement, `COMMIT`, pipelined in one write and one round trip. The pooler keeps one server connection
 * for the whole transaction, so the statement runs read-only whatever the pooling mode. `callback` hears
 * the statement's own outcome once the COMMIT (a ROLLBACK after an error) is answered and the session is
 * idle again.
 */
export function sendWrapped(
  client: PoolClient,
  raw: RawQuery,
  socket: { cork(): void; uncork(): void },
  config: string | QueryConfig,
  values: unknown[] | undefined,
  callback: RawCallback,
): void {
  const c = client as unknown as Pipelining;
  let outcome: { err: Error | null; result?: QueryResult } = { err: null };
  const pipelined = canPipeline(client);
  if (pipelined) {
    c.pipeline = true;
    socket.cork();
  }
  try {
    raw.call(client, 'BEGIN READ ONLY', undefined, noop);
    raw.call(client, config, values, (err, result) => {
      outcome = { err, result };
    });
    raw.call(client, 'COMMIT', undefined, (err) => {
      if (pipelined) c.pipeline = false;
      // The statement's own error first; a COMMIT that failed alone (the connection died) says what happened.
      callback(outcome.err ?? err, outcome.err === null && err === null ? outcome.result : undefined);
    });
  } catch (error) {
    if (pipelined) c.pipeline = false;
    throw error;
  } finally {
    if (pipelined) socket.uncork();
  }
}

const noop = (): void => {};

/** The server's own pid for the session (behind PgBouncer, BackendKeyData names PgBouncer's key instead). */
export const PID_PROBE = 'select pg_backend_pid() as pid';
export { SET_READ_ONLY };
