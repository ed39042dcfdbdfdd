// `lifeline check postgres://…/pgbouncer` on PgBouncer's port: its admin console (SHOW POOLS, SHOW CLIENTS,
// SHOW CONFIG, SHOW VERSION; simple queries only, as the console takes), the settings that cut client and
// server connections, and lifeline-net/pg's options against them (pooler mode, idle timeout, deadlines).

import { unreachable } from './load.js';
import { pgClient } from './postgres.js';
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
  integer,
  type Setting,
} from './types.js';

/** SHOW CONFIG keys worth showing, with their unit ('' for counts and words). */
const HIGHLIGHTS: Record<string, string> = {
  pool_mode: '',
  max_client_conn: '',
  default_pool_size: '',
  min_pool_size: '',
  reserve_pool_size: '',
  max_db_connections: '',
  max_user_connections: '',
  server_idle_timeout: 's',
  server_lifetime: 's',
  client_idle_timeout: 's',
  query_wait_timeout: 's',
  query_timeout: 's',
  idle_transaction_timeout: 's',
  server_check_delay: 's',
  tcp_keepalive: '',
  tcp_keepidle: 's',
  tcp_keepintvl: 's',
  tcp_keepcnt: '',
  tcp_user_timeout: 'ms',
  max_prepared_statements: '',
};

const POOL_COLUMNS = [
  'database',
  'user',
  'cl_active',
  'cl_waiting',
  'sv_active',
  'sv_idle',
  'sv_used',
  'maxwait',
  'pool_mode',
];

/** pg's default idleTimeoutMillis, which lifeline-net/pg keeps. */
const PG_IDLE_DEFAULT_MS = 10_000;

type Row = Record<string, unknown>;

export async function checkPgBouncer(url: string, shown: string, timeoutMs: number): Promise<Gathered> {
  const client = await pgClient(url, shown, timeoutMs);
  try {
    const version = await client.query<Row>('SHOW VERSION');
    const config = await client.query<Row>('SHOW CONFIG');
    const pools = await client.query<Row>('SHOW POOLS');
    const clients = await client.query<Row>('SHOW CLIENTS');
    return judge(String(version.rows[0]?.version ?? ''), config.rows, pools.rows, clients.rows);
  } catch (error) {
    throw unreachable(shown, error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** PgBouncer's timestamps (`2026-11-29 17:17:02 UTC`) as epoch ms, or undefined. */
function time(text: unknown): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?: UTC)?$/.exec(String(text ?? ''));
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : undefined;
}

function judge(version: string, config: Row[], poolRows: Row[], clientRows: Row[]): Gathered {
  const settings: Record<string, Setting> = {};
  for (const r of config) {
    const key = String(r.key);
    const unit = HIGHLIGHTS[key];
    if (unit === undefined) continue;
    const value = String(r.value ?? '');
    settings[key] = unit ? duration(value, unit) : integer(value) === undefined ? { value } : count(value);
  }
  const findings: Finding[] = [];
  const advice: Advice[] = [];
  const now = Date.now();

  const pools = poolRows
    .filter((p) => p.database !== 'pgbouncer')
    .map((p) =>
      Object.fromEntries(
        POOL_COLUMNS.map((c) => [c, typeof p[c] === 'number' ? (p[c] as number) : String(p[c] ?? '')]),
      ),
    );
  const connections = clientRows.map((c) => {
    const since = time(c.connect_time);
    return {
      application: String(c.application_name ?? ''),
      user: String(c.user ?? ''),
      address: String(c.addr ?? ''),
      state: `${String(c.state ?? '')}${c.database ? ` (${String(c.database)})` : ''}`,
      ageSeconds: since === undefined ? 0 : (now - since) / 1000,
    };
  });
  const max = settings.max_client_conn?.count ?? 0;
  const limit: ConnectionLimit | undefined =
    max > 0 ? { setting: 'max_client_conn', max, reserved: 0, available: max } : undefined;

  const waiting = pools.filter((p) => Number(p.cl_waiting) > 0);
  if (waiting.length > 0) {
    findings.push({
      level: 'warn',
      code: 'pgbouncer.clients-waiting',
      message: `clients are waiting for a server connection in ${waiting.map((p) => `${p.database}/${p.user} (${p.cl_waiting}, longest ${p.maxwait} s)`).join(', ')}: default_pool_size is too small for the load, or server connections are held (idle in transaction, session mode)`,
    });
  }
  const mode = settings.pool_mode?.value ?? '';
  if (mode === 'statement') {
    findings.push({
      level: 'warn',
      code: 'pgbouncer.statement-mode',
      message:
        'pool_mode is statement: multi-statement transactions are refused; lifeline-net/pg needs session or transaction mode',
    });
  } else if (mode === 'session' || mode === 'transaction') {
    advice.push({
      option: 'lifeline-net/pg: lifeline.pooler',
      value: `'${mode}'`,
      because: `PgBouncer's pool_mode is ${mode}; lifeline sees a pooler but not its mode`,
    });
  }
  const clientCut = settings.client_idle_timeout?.ms ?? 0;
  if (clientCut > 0) {
    findings.push({
      level: clientCut <= PG_IDLE_DEFAULT_MS ? 'warn' : 'info',
      code: 'pgbouncer.client-idle-timeout',
      message: `PgBouncer closes client connections idle longer than ${human(clientCut)} (client_idle_timeout)${
        clientCut <= PG_IDLE_DEFAULT_MS
          ? `: the pool's default idleTimeoutMillis (${human(PG_IDLE_DEFAULT_MS)}) keeps idle clients longer`
          : ''
      }`,
    });
    advice.push({
      option: 'lifeline-net/pg: idleTimeoutMillis',
      value: `${below(clientCut)} (and min: 0)`,
      because: `the pool must close idle clients before client_idle_timeout (${human(clientCut)}) does`,
    });
  }
  const waitCut = settings.query_wait_timeout?.ms ?? 0;
  if (waitCut > 0) {
    advice.push({
      option: 'lifeline-net/pg: lifeline.queryDeadlineMs',
      value: `${below(waitCut)} or less`,
      because: `PgBouncer fails a query that waits ${human(waitCut)} for a server connection (query_wait_timeout) and closes its client; lifeline's deadline ends it first with a clear error and keeps the connection`,
    });
  }
  const txCut = settings.idle_transaction_timeout?.ms ?? 0;
  if (txCut > 0) {
    findings.push({
      level: 'info',
      code: 'pgbouncer.idle-transaction-timeout',
      message: `a client idle in a transaction longer than ${human(txCut)} is disconnected (idle_transaction_timeout)`,
    });
  }
  const serverIdle = settings.server_idle_timeout?.ms ?? 0;
  const serverLife = settings.server_lifetime?.ms ?? 0;
  findings.push({
    level: 'info',
    code: 'pgbouncer.server-connections',
    message: `PgBouncer closes its server connections unused for ${human(serverIdle)} (server_idle_timeout) or older than ${human(serverLife)} once unused (server_lifetime): this never cuts lifeline's client connections; keep Postgres' idle_session_timeout above server_idle_timeout`,
  });
  findings.push(...busyFinding('pgbouncer.near-client-limit', limit, connections.length));
  return {
    server: {
      version,
      total: connections.length,
      groups: groupConnections(connections),
      // PgBouncer does not say which client sits idle inside a transaction; check Postgres itself for that.
      idleInTransaction: [],
      limit,
      pools,
    },
    settings,
    advice,
    findings,
  };
}
