// What protects one pooled connection's statements without annotations (safe reads, reply verification).
import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import { sqlState } from '../../protocols/postgres.js';
import { stateOf } from './client.js';
import { PID_PROBE, SET_READ_ONLY } from './reads.js';
import type { ReplyVerifier } from './verify.js';

/** What protects the statements of one pooled connection without annotations (docs/pg.md). */
export interface PgClientCapabilities {
  /** Reads run on a read-only session, so a lost read is run again (safe reads). */
  readonly safeReads: boolean;
  /** A silent reply is checked with the server (reply verification); when false, queryDeadlineMs is the bound. */
  readonly replyVerification: boolean;
  /** The server's pid for this session (pg_backend_pid()), when learned. */
  readonly backendPid: number | undefined;
  /** BackendKeyData named another pid than the server's own: a pooler (PgBouncer) sits in between. */
  readonly behindPooler: boolean;
  /** Why a mechanism is off, one line each. */
  readonly reasons: readonly string[];
}

/** What safe reads and reply verification did, pool-wide (`pool.protectionStats()`). */
export interface ProtectionStats {
  /** Statements run as reads on a read-only session (or in their own read-only transaction). */
  readsReadOnly: number;
  /** Session switches (read-only ↔ read-write) sent with a statement. */
  sessionSwitches: number;
  /** Statements taken for reads that the server refused (25006) and that ran again read-write. */
  writesRerun: number;
  /** Reads of checked-out clients run again on another connection after theirs was lost. */
  readsRerouted: number;
  /** Silent replies reported to the verifier, and verification queries sent. */
  overdueReplies: number;
  verifications: number;
  /** Replies found lost (connection retired), of which the server never received the statement. */
  repliesLost: number;
  neverReceived: number;
  /** Verifications that could not reach the host (kept waiting). */
  verifyFailures: number;
}

export function emptyProtectionStats(): ProtectionStats {
  return {
    readsReadOnly: 0,
    sessionSwitches: 0,
    writesRerun: 0,
    readsRerouted: 0,
    overdueReplies: 0,
    verifications: 0,
    repliesLost: 0,
    neverReceived: 0,
    verifyFailures: 0,
  };
}

export interface Protection {
  stats: ProtectionStats;
  /**
   * Live clients by server pid. Two at once with one pid means the server shares one session among
   * connections (PGlite's socket server, a multiplexer): a session setting made for one would apply to
   * all, so both mechanisms are turned off for the whole pool (`shared`).
   */
  sessions: Map<number, PoolClient>;
  shared: boolean;
  safeReads: boolean;
  verifier: ReplyVerifier | undefined;
  /** The pooler's mode, as the user declared it (lifeline.pooler). */
  pooler: 'session' | 'transaction' | undefined;
  reroute: (config: string | QueryConfig, values: unknown[] | undefined) => Promise<QueryResult>;
}

const capabilities = new WeakMap<PoolClient, PgClientCapabilities>();

const OFF: PgClientCapabilities = Object.freeze({
  safeReads: false,
  replyVerification: false,
  backendPid: undefined,
  behindPooler: false,
  reasons: Object.freeze(['not a client of a lifeline-net/pg Pool']),
});

/** Which protections apply to a client lent by a lifeline-net/pg Pool, and why the others do not. */
export function capabilitiesOf(client: PoolClient): PgClientCapabilities {
  return capabilities.get(client) ?? OFF;
}

/**
 * Runs at connect, before the client is handed out. Learns the server's own pid (`pg_backend_pid()`;
 * behind PgBouncer, BackendKeyData names PgBouncer's key, not the backend), then:
 * - direct, or a pooler declared in session mode: the session is made read-only (`SET`), and safe reads
 *   switch it per statement; reply verification watches the real pid;
 * - a pooler in transaction mode, or of unknown mode: no session setting (it would land on a server
 *   connection other clients share next); each read runs in its own read-only transaction, and verification
 *   is off (the backend changes between transactions).
 * Safe reads need the server to report default_transaction_read_only (Postgres 14+). A server error here
 * (a pooler refusing the probe) turns both off for the connection; a connection error fails the create.
 */
export async function protect(client: PoolClient, protection: Protection): Promise<void> {
  const state = stateOf(client);
  state.stats = protection.stats;
  const reasons: string[] = [];
  const { verifier, pooler } = protection;
  if (!protection.safeReads) reasons.push('safe reads: turned off (lifeline.safeReads false)');
  if (verifier === undefined) reasons.push('reply verification: turned off (lifeline.verifyAfterMs 0)');
  if (!protection.safeReads && verifier === undefined) {
    capabilities.set(client, { ...OFF, reasons });
    return;
  }
  let pid: number | undefined;
  try {
    const answer = await client.query<{ pid: unknown }>(PID_PROBE);
    const value = answer.rows[0]?.pid;
    pid = typeof value === 'number' ? value : undefined;
  } catch (error) {
    if (sqlState(error) === undefined) throw error;
    reasons.push(`the connect-time probe failed (${sqlState(error)}): safe reads and verification are off`);
    capabilities.set(client, { ...OFF, reasons });
    return;
  }
  if (pid !== undefined && !protection.shared && protection.sessions.has(pid)) {
    shareDetected(protection, client);
  }
  if (protection.shared) {
    reasons.push(SHARED_REASON);
    if (state.readOnly === true) await client.query('SET default_transaction_read_only = off');
    capabilities.set(client, { ...OFF, backendPid: pid, reasons });
    return;
  }
  if (pid !== undefined) {
    protection.sessions.set(pid, client);
    state.live?.onClose(() => {
      if (protection.sessions.get(pid) === client) protection.sessions.delete(pid);
    });
  }
  const keyPid: unknown = Reflect.get(client, 'processID');
  const behindPooler = pid !== undefined && keyPid !== pid;
  const sessionsStick = !behindPooler || pooler === 'session';
  if (protection.safeReads) {
    if (!sessionsStick) {
      state.wrapReads = true;
      state.safeReads = true;
    } else if (state.readOnly === undefined) {
      reasons.push('safe reads: the server does not report default_transaction_read_only (Postgres < 14)');
    } else {
      if (state.readOnly !== true) await client.query(SET_READ_ONLY);
      state.safeReads = state.readOnly === true;
      if (!state.safeReads) reasons.push('safe reads: the session did not become read-only');
    }
  }
  state.backendPid = pid;
  if (protection.shared) {
    // Found shared by another connection's probe while this one awaited its SET.
    state.safeReads = false;
    state.wrapReads = false;
    capabilities.set(client, { ...OFF, backendPid: pid, reasons: [SHARED_REASON] });
    return;
  }
  state.reroute = state.safeReads ? protection.reroute : undefined;
  if (verifier !== undefined) {
    if (pid === undefined) reasons.push('reply verification: the server did not tell its pid');
    else if (!sessionsStick) {
      reasons.push(
        pooler === 'transaction'
          ? 'reply verification: off behind a transaction-mode pooler (the backend changes); queryDeadlineMs is the bound'
          : "reply verification: off behind a pooler of unknown mode; set lifeline.pooler to 'session' if it is one",
      );
    } else verifier.watch(client);
  }
  capabilities.set(client, {
    safeReads: state.safeReads,
    replyVerification: state.watched,
    backendPid: pid,
    behindPooler,
    reasons,
  });
}

const SHARED_REASON =
  'the server shares one session among connections (two report the same pg_backend_pid(): an embedded or ' +
  'multiplexing server): safe reads and reply verification are off for this pool';

/** Turns both mechanisms off on every client already protected; the new client's probe resets the setting. */
function shareDetected(protection: Protection, client: PoolClient): void {
  protection.shared = true;
  for (const other of protection.sessions.values()) {
    const state = stateOf(other);
    state.safeReads = false;
    state.wrapReads = false;
    state.reroute = undefined;
    state.watched = false;
    const caps = capabilities.get(other);
    capabilities.set(other, {
      ...OFF,
      backendPid: caps?.backendPid,
      behindPooler: caps?.behindPooler ?? false,
      reasons: [SHARED_REASON],
    });
  }
  protection.sessions.clear();
  stateOf(client).safeReads = false;
}
