// `lifeline check mysql://…` (MySQL, MariaDB): the process list grouped, sessions sleeping inside an InnoDB
// transaction, the global settings that cut connections (wait_timeout, interactive_timeout) and the
// connection limit, and lifeline-net/mysql's options against them. Uses mysql2, loaded here only; connect
// and every query are bounded by the check's timeout.

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
  hostOf,
  human,
  type IdleTransaction,
  integer,
  type Setting,
} from './types.js';

/** mysql2's pool idleTimeout default, which lifeline-net/mysql keeps. */
const MYSQL_IDLE_DEFAULT_MS = 60_000;

const DURATIONS = ['wait_timeout', 'interactive_timeout'];
const COUNTS = ['max_connections', 'max_user_connections', 'extra_max_connections'];

type Row = Record<string, unknown>;

export async function checkMysql(url: string, shown: string, timeoutMs: number): Promise<Gathered> {
  const driver = await loadDriver('mysql', () => import('mysql2/promise'));
  let connection: Awaited<ReturnType<typeof driver.createConnection>>;
  try {
    connection = await driver.createConnection({ uri: url, connectTimeout: timeoutMs });
  } catch (error) {
    throw unreachable(shown, error);
  }
  // A connection that dies after connect must not crash the process with an unhandled 'error'.
  connection.on('error', () => {});
  const query = async (sql: string): Promise<Row[]> => {
    const [rows] = await connection.query({ sql, timeout: timeoutMs });
    return rows as Row[];
  };
  try {
    const version = await query('SELECT VERSION() AS v');
    const names = [...DURATIONS, ...COUNTS].map((n) => `'${n}'`).join(',');
    const variables = await query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names})`);
    const status = await query("SHOW GLOBAL STATUS WHERE Variable_name = 'Threads_connected'");
    const processes = await query(
      `SELECT ID, USER, HOST, COMMAND, TIME FROM information_schema.PROCESSLIST
        WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump') AND USER NOT IN ('system user', 'event_scheduler')`,
    );
    const idleTx = await query(
      `SELECT p.ID, p.USER, p.HOST, p.TIME, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS TX
         FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE p.COMMAND = 'Sleep'`,
    );
    const connected = integer(status[0]?.Value) ?? processes.length;
    return judge(String(version[0]?.v ?? ''), variables, processes, idleTx, connected);
  } catch (error) {
    throw unreachable(shown, error);
  } finally {
    connection.destroy();
  }
}

function judge(
  version: string,
  variables: Row[],
  processes: Row[],
  idleTx: Row[],
  connected: number,
): Gathered {
  const settings: Record<string, Setting> = {};
  for (const v of variables) {
    const name = String(v.Variable_name);
    const value = String(v.Value ?? '');
    settings[name] = DURATIONS.includes(name) ? duration(value, 's') : count(value);
  }
  const findings: Finding[] = [];
  const advice: Advice[] = [];
  const max = settings.max_connections?.count ?? 0;
  // MySQL and MariaDB keep one connection beyond max_connections for an administrator: not for applications.
  const limit: ConnectionLimit | undefined =
    max > 0 ? { setting: 'max_connections', max, reserved: 0, available: max } : undefined;

  const connections = processes.map((p) => ({
    application: '',
    user: String(p.USER ?? ''),
    address: hostOf(String(p.HOST ?? '')),
    state: String(p.COMMAND ?? '').toLowerCase(),
    // The process list tells the time in the current state, not the connection's age.
    ageSeconds: Number(p.TIME ?? 0),
  }));
  const idleInTransaction: IdleTransaction[] = idleTx.map((p) => ({
    id: String(p.ID),
    application: '',
    user: String(p.USER ?? ''),
    address: hostOf(String(p.HOST ?? '')),
    transactionSeconds: integer(p.TX),
    idleSeconds: Number(p.TIME ?? 0),
  }));
  if (idleInTransaction.length > 0) {
    findings.push({
      level: 'warn',
      code: 'mysql.idle-in-transaction',
      message: `${idleInTransaction.length} connection(s) sleep inside an open InnoDB transaction (longest idle ${Math.max(...idleInTransaction.map((t) => t.idleSeconds))} s): they hold locks and a connection until wait_timeout ends them`,
    });
  }
  const idleCut = settings.wait_timeout?.ms ?? 0;
  if (idleCut > 0) {
    findings.push({
      level: idleCut <= MYSQL_IDLE_DEFAULT_MS ? 'warn' : 'info',
      code: 'mysql.wait-timeout',
      message: `the server closes connections idle longer than ${human(idleCut)} (wait_timeout)${
        idleCut <= MYSQL_IDLE_DEFAULT_MS
          ? `: the pool's default idleTimeout (${human(MYSQL_IDLE_DEFAULT_MS)}) keeps idle connections longer, so they are cut under it`
          : ''
      }`,
    });
    advice.push({
      option: 'lifeline-net/mysql: idleTimeout (and maxIdle below connectionLimit)',
      value: String(below(idleCut)),
      because: `the pool must close idle connections before wait_timeout (${human(idleCut)}) does; mysql2 closes idle ones only above maxIdle`,
    });
  }
  const interactive = settings.interactive_timeout?.ms ?? 0;
  if (interactive > 0) {
    findings.push({
      level: 'info',
      code: 'mysql.interactive-timeout',
      message: `interactive_timeout (${human(interactive)}) applies to clients that declare themselves interactive (the mysql shell), not to mysql2 connections: wait_timeout is the one that cuts them`,
    });
  }
  advice.push({
    option: 'lifeline-net/mysql: lifeline.keepaliveIdleMs',
    value:
      '10000 (the default), below the shortest idle cut of any NAT or load balancer on the path (AWS NAT/NLB: 350 s)',
    because:
      'TCP keepalive keeps middleboxes from dropping an idle connection; it does not reset wait_timeout, which counts statements',
  });
  advice.push({
    option: 'lifeline-net/mysql: lifeline.maxLifetimeMs',
    value:
      'below any proxy or load balancer connection lifetime on the path (lifeline.lifetimeJitter spreads the expiries)',
    because: 'a connection retired by the pool is never cut under a query',
  });
  findings.push(...busyFinding('mysql.near-connection-limit', limit, connected));
  return {
    server: { version, total: connected, groups: groupConnections(connections), idleInTransaction, limit },
    settings,
    advice,
    findings,
  };
}
