// `lifeline check postgres://…`: pg_stat_activity grouped, idle-in-transaction sessions, the settings that
// cut or keep connections (as the checking session sees them: role and database overrides apply), the
// connection limit minus reserved slots, and lifeline-net/pg's options against them. Uses pg, loaded here
// only; every connect and query is bounded by the check's timeout.

import type pg from 'pg';
import { loadDriver, unreachable } from './load.js';
import {
  type Advice,
  below,
  busyFinding,
  type ConnectionLimit,
  count,
  duration,
  type Finding,
  type Gathered,
  groupConnections,
  human,
  type IdleTransaction,
  type Setting,
} from './types.js';

/** pg's default idleTimeoutMillis, which lifeline-net/pg keeps. */
const PG_IDLE_DEFAULT_MS = 10_000;

const SETTINGS = [
  'idle_session_timeout',
  'idle_in_transaction_session_timeout',
  'tcp_keepalives_idle',
  'tcp_keepalives_interval',
  'tcp_keepalives_count',
  'tcp_user_timeout',
  'max_connections',
  'superuser_reserved_connections',
  'reserved_connections',
];

/** A connected pg.Client for `url`, bounded by `timeoutMs` for connect and every query. */
export async function pgClient(
  url: string,
  shown: string,
  timeoutMs: number,
  extra: pg.ClientConfig = {},
): Promise<pg.Client> {
  const { default: driver } = await loadDriver('postgres', () => import('pg'));
  const client = new driver.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'lifeline check',
    ...extra,
  });
  // A connection that dies after connect must not crash the process with an unhandled 'error'.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw unreachable(shown, error);
  }
  return client;
}

interface ActivityRow {
  pid: number;
  application: string;
  user: string;
  address: string;
  state: string | null;
  age: number;
  xact_age: number | null;
  idle: number | null;
}

export async function checkPostgres(url: string, shown: string, timeoutMs: number): Promise<Gathered> {
  const client = await pgClient(url, shown, timeoutMs, { statement_timeout: timeoutMs });
  try {
    const version = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const rows = await client.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [SETTINGS],
    );
    const activity = await client.query<ActivityRow>(
      `SELECT pid, coalesce(application_name, '') AS application, coalesce(usename::text, '') AS "user",
              coalesce(host(client_addr), CASE WHEN client_port = -1 THEN 'local' ELSE '' END) AS address,
              state,
              extract(epoch FROM now() - backend_start)::float8 AS age,
              extract(epoch FROM now() - xact_start)::float8 AS xact_age,
              extract(epoch FROM now() - state_change)::float8 AS idle
         FROM pg_stat_activity
        WHERE backend_type = 'client backend'`,
    );
    return judge(version.rows[0]?.v ?? '', rows.rows, activity.rows);
  } catch (error) {
    throw unreachable(shown, error);
  } finally {
    await client.end().catch(() => {});
  }
}

function judge(
  version: string,
  rows: { name: string; setting: string; unit: string | null }[],
  activity: ActivityRow[],
): Gathered {
  const settings: Record<string, Setting> = {};
  for (const r of rows) settings[r.name] = r.unit ? duration(r.setting, r.unit) : count(r.setting);
  const findings: Finding[] = [];
  const advice: Advice[] = [];

  const max = settings.max_connections?.count ?? 0;
  const reserved =
    (settings.superuser_reserved_connections?.count ?? 0) + (settings.reserved_connections?.count ?? 0);
  const limit: ConnectionLimit | undefined =
    max > 0 ? { setting: 'max_connections', max, reserved, available: max - reserved } : undefined;

  const connections = activity.map((a) => ({
    application: a.application,
    user: a.user,
    address: a.address,
    state: a.state ?? 'unknown (no permission)',
    ageSeconds: a.age,
  }));
  // The check's own session ('lifeline check', active) is counted: the server counts it too.
  const total = activity.length;
  const idleInTransaction: IdleTransaction[] = activity
    .filter((a) => a.state === 'idle in transaction' || a.state === 'idle in transaction (aborted)')
    .map((a) => ({
      id: String(a.pid),
      application: a.application,
      user: a.user,
      address: a.address,
      transactionSeconds: a.xact_age === null ? undefined : Math.floor(a.xact_age),
      idleSeconds: Math.floor(a.idle ?? 0),
    }));

  if (activity.some((a) => a.state === null)) {
    findings.push({
      level: 'info',
      code: 'pg.stats-hidden',
      message:
        "other users' session states are hidden from this role: grant it pg_read_all_stats (or run the check as a superuser) to see them",
    });
  }
  if (idleInTransaction.length > 0) {
    const oldest = Math.max(...idleInTransaction.map((t) => t.idleSeconds));
    findings.push({
      level: 'warn',
      code: 'pg.idle-in-transaction',
      message: `${idleInTransaction.length} session(s) idle in transaction (longest idle ${oldest} s): they hold locks and a connection slot; ${
        (settings.idle_in_transaction_session_timeout?.ms ?? 0) > 0
          ? 'idle_in_transaction_session_timeout will end them'
          : 'nothing ends them (idle_in_transaction_session_timeout is off)'
      }`,
    });
  }

  const idleCut = settings.idle_session_timeout?.ms ?? 0;
  if (idleCut > 0) {
    findings.push({
      level: idleCut <= PG_IDLE_DEFAULT_MS ? 'warn' : 'info',
      code: 'pg.idle-session-timeout',
      message: `Postgres ends sessions idle longer than ${human(idleCut)} (idle_session_timeout)${
        idleCut <= PG_IDLE_DEFAULT_MS
          ? `: the pool's default idleTimeoutMillis (${human(PG_IDLE_DEFAULT_MS)}) keeps idle clients longer, so they are cut under it`
          : ''
      }`,
    });
    advice.push({
      option: 'lifeline-net/pg: idleTimeoutMillis',
      value: `${below(idleCut)} (and min: 0)`,
      because: `the pool must close idle clients before idle_session_timeout (${human(idleCut)}) does; clients kept by min would sit idle past it`,
    });
  }
  const txCut = settings.idle_in_transaction_session_timeout?.ms ?? 0;
  if (txCut > 0) {
    findings.push({
      level: 'info',
      code: 'pg.idle-in-transaction-timeout',
      message: `a transaction idle longer than ${human(txCut)} is ended with its connection (idle_in_transaction_session_timeout, FATAL 25P03): lifeline-net/pg retires that client and the transaction's work is lost`,
    });
  }
  const keepIdle = settings.tcp_keepalives_idle?.ms ?? 0;
  findings.push({
    level: 'info',
    code: 'pg.server-keepalive',
    message: `the server probes a silent client after ${keepIdle > 0 ? human(keepIdle) : 'the OS default (Linux: 2 h)'} (tcp_keepalives_idle): it finds vanished clients, it does not keep a NAT or load balancer on the path open for the client`,
  });
  advice.push({
    option: 'lifeline-net/pg: lifeline.keepaliveIdleMs',
    value:
      '10000 (the default), below the shortest idle cut of any NAT or load balancer on the path (AWS NAT/NLB: 350 s)',
    because:
      'TCP keepalive keeps middleboxes from dropping an idle connection; it does not reset idle_session_timeout, which counts statements, not packets',
  });
  advice.push({
    option: 'lifeline-net/pg: maxLifetimeSeconds',
    value:
      'below any proxy or load balancer connection lifetime on the path (lifeline.lifetimeJitter spreads the expiries)',
    because: 'a connection retired by the pool is never cut under a query',
  });
  findings.push(...busyFinding('pg.near-connection-limit', limit, total));
  return {
    server: { version, total, groups: groupConnections(connections), idleInTransaction, limit },
    settings,
    advice,
    findings,
  };
}
