// Reply verification: asks the server on a side connection what a silent session is doing.
import type pg from 'pg';
import type { PoolClient } from 'pg';
import { type VerdictMessage, verifyVerdictChannel } from '../../core/channels.js';
import type { ReplyOverdue } from '../../socket/index.js';
import { type ClientConstructor, stateOf } from './client.js';
import { PgReplyLostError } from './errors.js';
import type { PgHost } from './hosts.js';
import type { ProtectionStats } from './protect.js';

/**
 * Reply verification: when a reply has been awaited for a while with no byte from the server (LiveSocket's
 * watchReplies), ask the server, on a separate connection, what that session is doing (pg_stat_activity,
 * by the backend pid learned at connect):
 * - `active` (or a fastpath call): the statement runs. Keep waiting; ask again later, backing off.
 * - anything else (`idle`, `idle in transaction`, …) or no such backend: the reply is lost. The connection
 *   is retired, and the statement is classified: never received when the server has been idle for longer
 *   than the statement has been in flight (durations, not clocks: the two clocks differ) AND its backend was
 *   ended while still idle (pg_terminate_backend on the verifying connection: a middlebox holding the
 *   statement's bytes could otherwise deliver them later, and a retry would apply it twice), else its outcome
 *   is unknown. query.ts turns that into PgConnectionLostError (retried), PgReadLostError (retried) or
 *   OutcomeUnknownError.
 * - the verifying connection cannot connect or answer: the host is unreachable. Keep waiting, tell the
 *   host rotation (hostDown), ask again later.
 * One query per host covers every stalled session of that host, at most one per `MIN_INTERVAL_MS`; the
 * verifying connection is opened for it and closed right after, outside the pool's `max`.
 */

/** At most one verification query per host per this long. */
const MIN_INTERVAL_MS = 1000;
/** The server counts as idle since before the send only by this margin (timer granularity, scheduling). */
const MARGIN_MS = 500;
/** How long the verifying connection may take to connect and answer. */
const VERIFY_TIMEOUT_MS = 5000;
/** Backoff ceiling between checks of one still-running statement. */
const MAX_RECHECK_MS = 60_000;

const STATEMENT =
  'select pid, state, (extract(epoch from (now() - state_change)) * 1000)::float8 as idle_ms ' +
  'from pg_stat_activity where pid = any($1::int[])';

/**
 * Ends the sessions that were idle since before their statement left, if they are still idle: a middlebox may
 * still hold the statement's bytes and deliver them later (the soak saw it on MySQL); once the backend is gone
 * they can never run, so "never received" is then safe to act on. Returns the pids ended.
 */
const TERMINATE =
  'select pid from pg_stat_activity where pid = any($1::int[]) ' +
  'and case when state = $2 then pg_terminate_backend(pid) else false end';

interface Stalled {
  client: PoolClient;
  pid: number;
  waitingMs: number;
  /** When it was reported: the statement has been in flight for at most waitingMs + (now - reportedAt). */
  reportedAt: number;
  /** bytesRead when reported: any byte since means the reply is moving again. */
  bytesRead: number;
}

interface HostChecks {
  pending: Map<number, Stalled>;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  lastAt: number;
}

export interface VerifierEvents {
  /** Counters to keep (protect.ts ProtectionStats). */
  stats: ProtectionStats;
  /** The verifying connection could not reach the host. */
  hostDown(host: PgHost, error: unknown): void;
  /** A statement's reply was found lost and its connection retired. */
  replyLost?(client: PoolClient, neverReceived: boolean): void;
}

export class ReplyVerifier {
  private readonly hosts = new Map<PgHost, HostChecks>();
  private closed = false;

  constructor(
    private readonly Client: ClientConstructor,
    readonly afterMs: number,
    private readonly events: VerifierEvents,
  ) {}

  /** Starts watching a connection whose backend pid is known. */
  watch(client: PoolClient): void {
    const state = stateOf(client);
    const live = state.live;
    const pid = state.backendPid;
    if (live === undefined || pid === undefined) return;
    state.watched = true;
    live.watchReplies(this.afterMs, (overdue: ReplyOverdue) => {
      this.events.stats.overdueReplies++;
      this.report(client, pid, overdue.waitingMs);
      return Math.min(this.afterMs * 2 ** (overdue.calls + 1), MAX_RECHECK_MS);
    });
  }

  /** Stops every check (pool.end()); stalled statements then wait for their own deadline or death. */
  close(): void {
    this.closed = true;
    for (const checks of this.hosts.values()) clearTimeout(checks.timer);
    this.hosts.clear();
  }

  private report(client: PoolClient, pid: number, waitingMs: number): void {
    if (this.closed) return;
    const state = stateOf(client);
    let checks = this.hosts.get(state.host);
    if (checks === undefined) {
      checks = { pending: new Map(), timer: undefined, running: false, lastAt: 0 };
      this.hosts.set(state.host, checks);
    }
    checks.pending.set(pid, {
      client,
      pid,
      waitingMs,
      reportedAt: Date.now(),
      bytesRead: state.socket.bytesRead,
    });
    this.schedule(state.host, checks);
  }

  private schedule(host: PgHost, checks: HostChecks): void {
    if (checks.timer !== undefined || checks.running || checks.pending.size === 0) return;
    const wait = Math.max(0, checks.lastAt + MIN_INTERVAL_MS - Date.now());
    checks.timer = setTimeout(() => {
      checks.timer = undefined;
      void this.run(host, checks);
    }, wait).unref();
  }

  private async run(host: PgHost, checks: HostChecks): Promise<void> {
    const batch = [...checks.pending.values()];
    const tentative = new Map<number, ReplyLostMark>();
    checks.pending.clear();
    checks.running = true;
    checks.lastAt = Date.now();
    this.events.stats.verifications++;
    try {
      const { rows, ended } = await this.ask(
        host,
        batch.map((s) => s.pid),
        (found, answeredAt) => {
          const picks = batch.filter((s) => idleSinceSend(s, found.get(s.pid), answeredAt));
          // Marked before their backends are ended: ending one closes its connection at once, and the
          // statement is classified the moment that close arrives, maybe before judge() runs.
          for (const s of picks) tentative.set(s.pid, markNeverReceived(s.client));
          return picks.map((s) => s.pid);
        },
      );
      // Not ended (no longer idle, or not allowed): the mark goes, the outcome stays unknown.
      for (const [pid, mark] of tentative) if (!ended.has(pid)) unmark(batch, pid, mark);
      for (const stalled of batch) this.judge(stalled, rows.get(stalled.pid), ended);
    } catch (error) {
      for (const [pid, mark] of tentative) unmark(batch, pid, mark);
      // Unreachable: keep waiting (the watch asks again after its backoff), and let failover know.
      this.events.stats.verifyFailures++;
      publishVerdict(host.label, 'unreachable');
      if (!this.closed) this.events.hostDown(host, error);
    } finally {
      checks.running = false;
      if (!this.closed) this.schedule(host, checks);
    }
  }

  /**
   * Reads the sessions' state; then ends, on the same connection, those `idleSince` picks (idle since before
   * their statement left) that are still idle. An error ending them leaves them unended (outcome-unknown).
   */
  private async ask(
    host: PgHost,
    pids: number[],
    idleSince: (rows: Map<number, Row>, answeredAt: number) => number[],
  ): Promise<{ rows: Map<number, Row>; ended: Set<number> }> {
    const client: pg.Client = new this.Client({
      ...host.config,
      connectionTimeoutMillis: VERIFY_TIMEOUT_MS,
      query_timeout: VERIFY_TIMEOUT_MS,
      application_name: 'lifeline-net reply verification',
    });
    // A verifying connection that dies is an unreachable host, never an uncaught 'error' event.
    client.on('error', () => {});
    const timer = setTimeout(() => client.end().catch(() => {}), VERIFY_TIMEOUT_MS * 2).unref();
    try {
      await client.connect();
      const result = await client.query<{ pid: number; state: string | null; idle_ms: number | null }>(
        STATEMENT,
        [pids],
      );
      const rows = new Map<number, Row>();
      for (const row of result.rows) {
        rows.set(row.pid, { state: row.state ?? 'unknown', idleMs: row.idle_ms ?? 0 });
      }
      const ended = new Set<number>();
      const candidates = idleSince(rows, Date.now());
      if (candidates.length > 0) {
        try {
          const gone = await client.query<{ pid: number }>(TERMINATE, [candidates, 'idle']);
          for (const row of gone.rows) ended.add(row.pid);
        } catch {
          // Not allowed to end them (another role's sessions): they stay outcome-unknown.
        }
      }
      return { rows, ended };
    } finally {
      clearTimeout(timer);
      client.end().catch(() => {});
    }
  }

  private judge(stalled: Stalled, row: Row | undefined, ended: Set<number>): void {
    const { client } = stalled;
    const state = stateOf(client);
    const killed = ended.has(stalled.pid);
    // The reply moved again, or the statement is over, or the connection already went: nothing to decide
    // (unless this check ended its backend: that close is this verdict's).
    if (
      !killed &&
      (state.inFlight === 0 || state.death !== undefined || state.socket.bytesRead !== stalled.bytesRead)
    ) {
      return;
    }
    if (row !== undefined && (row.state === 'active' || row.state === 'fastpath function call')) {
      publishVerdict(state.host.label, 'running');
      return;
    }
    if (row !== undefined && row.state === 'unknown') return; // not visible to this role: no verdict
    // Idle since before the statement left, and its backend ended while still idle: the statement never ran
    // and never will (bytes a middlebox still holds have no session to run in). Idle alone is not enough.
    // (`killed`: picked by idleSinceSend when the server answered, and ended while still idle.)
    const neverReceived = killed;
    state.replyLost = { neverReceived };
    state.retire = true;
    this.events.stats.repliesLost++;
    publishVerdict(state.host.label, 'lost');
    if (neverReceived) this.events.stats.neverReceived++;
    this.events.replyLost?.(client, neverReceived);
    const seen = row === undefined ? 'gone (no such backend)' : `'${row.state}'`;
    state.live?.destroy(new PgReplyLostError(state.host.label, neverReceived, seen));
  }
}

interface Row {
  state: string;
  idleMs: number;
}

type ReplyLostMark = { neverReceived: boolean };

function markNeverReceived(client: PoolClient): ReplyLostMark {
  const mark = { neverReceived: true };
  stateOf(client).replyLost = mark;
  return mark;
}

function unmark(batch: readonly Stalled[], pid: number, mark: ReplyLostMark): void {
  const stalled = batch.find((s) => s.pid === pid);
  if (stalled === undefined) return;
  const state = stateOf(stalled.client);
  if (state.replyLost === mark) state.replyLost = undefined;
}

/**
 * The server has been idle since before the statement left. It measured its idle time before the answer came;
 * the statement's time in flight by then is at most what the watch reported plus everything since (an earlier
 * check may have kept this one waiting). Erring long means outcome-unknown.
 */
function idleSinceSend(stalled: Stalled, row: Row | undefined, answeredAt: number): boolean {
  if (row === undefined || row.state !== 'idle') return false;
  const inFlightMs = stalled.waitingMs + (answeredAt - stalled.reportedAt);
  return row.idleMs > inFlightMs + MARGIN_MS;
}

/** lifeline-net/observe's verification counter (`lifeline:verify:verdict`). */
function publishVerdict(endpoint: string, verdict: VerdictMessage['verdict']): void {
  if (verifyVerdictChannel.hasSubscribers)
    verifyVerdictChannel.publish({ protocol: 'postgres', endpoint, verdict });
}
