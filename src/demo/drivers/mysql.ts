// The demo's MySQL driver: `lifeline demo --driver mysql`. The target is the machine's MariaDB/MySQL
// (mysql://root@127.0.0.1:3306/test) or the server at --url; the workload is an indexed SELECT of an item
// and an INSERT of a unique id per side and run into a table without a key, so a doubled write shows;
// writes are counted on a direct connection after the run.
//
// naive: mysql2's pool as most services run it — the defaults and the usual retry loop around writes.
//
// lifeline: lifeline-net/mysql's pool as its docs suggest: short keepalive and user timeout, lost replies
// verified after 1 s, a query deadline. Reads run read-only and are retried after a loss; a write whose
// outcome is unknown is reported, never silently run again.

import mysql from 'mysql2/promise';
import type { Pool as LifelineMysqlPool } from '../../adapters/mysql/index.js';
import { createPool } from '../../adapters/mysql/promise.js';
import { redact } from '../../core/errors.js';
import {
  checkServerUrl,
  type DemoDriver,
  type DemoTarget,
  type Side,
  type SideOptions,
  serverProblem,
  throughProxy,
  upstreamOf,
  type WriteAudit,
} from '../driver.js';
import { CauseCounts, countExecRetries, poolSample } from '../metrics.js';
import { SCENARIOS } from '../scenarios.js';
import { ITEMS } from '../workload.js';

const DEFAULT_URL = 'mysql://root@127.0.0.1:3306/test';
const ITEMS_TABLE = 'lifeline_demo_items';
const WRITES_TABLE = 'lifeline_demo_writes';
const NAIVE_WRITE_ATTEMPTS = 3;

interface Queryable {
  query(sql: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

function app(pool: Queryable, runId: string, side: string): Side['app'] {
  return {
    async read(key) {
      await pool.query(`select v from ${ITEMS_TABLE} where id = ?`, [key]);
    },
    async write(id) {
      await pool.query(`insert into ${WRITES_TABLE} (run_id, side, id) values (?, ?, ?)`, [runId, side, id]);
    },
  };
}

function naiveSide(url: string, options: SideOptions): Side {
  const pool = mysql.createPool({ uri: url, connectionLimit: options.poolSize });
  // mysql2's pool raises no 'error' event of its own; a lent connection's errors reach its queries.
  const plain = app(pool, options.runId, 'naive');
  // For the report's pool charts: each connection's socket closing, under the error that closed it (on the
  // socket, which mysql2 already listens to: the connection's own 'error' behaviour stays as it is).
  const deaths = new CauseCounts();
  let retries = 0;
  pool.pool.on('connection', (connection) => {
    const socket = (connection as unknown as { stream?: import('node:net').Socket }).stream;
    let cause = 'closed';
    socket?.once('error', (error: NodeJS.ErrnoException) => {
      cause = error.code ?? error.message;
    });
    socket?.once('close', () => deaths.add(cause));
  });
  // mysql2's own lists (no public counts): every connection, the idle ones, the queued requests.
  const inner = pool.pool as unknown as Record<
    '_allConnections' | '_freeConnections' | '_connectionQueue',
    { length: number }
  >;
  return {
    name: 'naive',
    maxOpMs: undefined,
    app: {
      read: plain.read,
      async write(id) {
        for (let attempt = 1; ; attempt++) {
          try {
            await plain.write(id);
            return;
          } catch (error) {
            if (attempt >= NAIVE_WRITE_ATTEMPTS) throw error;
            retries++;
          }
        }
      },
    },
    close: () => pool.end(),
    poolSample: () => ({
      used: inner._allConnections.length - inner._freeConnections.length,
      idle: inner._freeConnections.length,
      pending: inner._connectionQueue.length,
      deaths: deaths.counts,
      retries,
    }),
  };
}

function lifelineSide(url: string, options: SideOptions): Side {
  const pool = createPool({
    uri: url,
    connectionLimit: options.poolSize,
    connectTimeout: options.attemptDeadlineMs,
    lifeline: {
      queryDeadlineMs: options.queryDeadlineMs,
      verifyAfterMs: 1000,
      keepaliveIdleMs: 1000,
      keepaliveIntervalMs: 1000,
      keepaliveCount: 3,
      userTimeoutMs: 3000,
    },
  });
  const retries = countExecRetries();
  return {
    name: 'lifeline',
    maxOpMs: options.queryDeadlineMs,
    app: app(pool, options.runId, 'lifeline'),
    close: () => {
      retries.stop();
      return pool.end();
    },
    poolSample: () => poolSample((pool.pool as unknown as LifelineMysqlPool).stats(), retries.count),
  };
}

/** A direct connection (not through a fault proxy): the ground truth is not part of the experiment. */
async function withMysql<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ uri: url, connectTimeout: 10_000 });
  c.on('error', () => {});
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

async function prepare(url: string): Promise<void> {
  await withMysql(url, async (c) => {
    await c.query(`create table if not exists ${ITEMS_TABLE} (id int primary key, v varchar(32) not null)`);
    await c.query(
      `create table if not exists ${WRITES_TABLE} (run_id varchar(128) not null, side varchar(16) not null, id int not null, key (run_id, side))`,
    );
    const rows = Array.from({ length: ITEMS }, (_, i) => [i + 1, `item ${i + 1}`]);
    await c.query(`insert ignore into ${ITEMS_TABLE} (id, v) values ?`, [rows]);
    for (let i = 0; i < 300; i++)
      await c.query(`select v from ${ITEMS_TABLE} where id = ?`, [1 + (i % ITEMS)]);
  });
}

async function auditWrites(
  url: string,
  runId: string,
  side: string,
  acknowledged: ReadonlySet<number>,
): Promise<WriteAudit> {
  return withMysql(url, async (c) => {
    const [rows] = (await c.query(
      `select id, count(*) as n from ${WRITES_TABLE} where run_id = ? and side = ? group by id`,
      [runId, side],
    )) as unknown as [Array<{ id: number; n: number }>];
    const counts = new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
    let lost = 0;
    for (const id of acknowledged) if (!counts.has(id)) lost++;
    let doubled = 0;
    for (const n of counts.values()) if (n > 1) doubled++;
    return { lost, doubled };
  });
}

/** Removes this run's writes (every scenario's run id starts with it); the items stay for another run. */
async function cleanup(url: string, runId: string): Promise<void> {
  await withMysql(url, async (c) => {
    await c.query(`delete from ${WRITES_TABLE} where run_id like ?`, [`${runId}-%`]);
  });
}

const SETUP_HTML = `<b>mysql2's pool</b> runs with its defaults (no check when a connection is handed out) and a
retry loop around writes. <b>lifeline-net/mysql</b> is configured as its docs suggest: keepalive and user
timeout, lost replies verified after 1 s, a query deadline; reads run read-only and are retried after a loss,
writes whose outcome is unknown are reported.`;

export const mysqlDriver: DemoDriver = {
  name: 'mysql',
  labels: {
    naive: 'mysql2 pool',
    lifeline: 'lifeline-net/mysql',
    read: 'indexed SELECTs',
    write: 'INSERTs with unique ids',
    setupHtml: SETUP_HTML,
  },
  scenarios: SCENARIOS,
  urlExample: 'mysql://user:pass@host:3306/db',
  defaultTarget: `the machine's MySQL/MariaDB (${DEFAULT_URL})`,
  checkUrl: (url) => checkServerUrl(url, ['mysql:']),
  async start({ url, onProgress }): Promise<DemoTarget> {
    const serverUrl = url ?? DEFAULT_URL;
    onProgress(`preparing MySQL at ${redact(serverUrl)}…`);
    try {
      await prepare(serverUrl);
    } catch (error) {
      throw serverProblem(
        `MySQL server at ${redact(serverUrl)}`,
        error,
        url === undefined
          ? 'Start MySQL or MariaDB on 127.0.0.1:3306 (user root, no password, database test), or give one with --url mysql://user:pass@host:3306/db'
          : 'Check that it is running and that --url is right',
      );
    }
    return {
      description: redact(serverUrl),
      upstream: upstreamOf(serverUrl, 3306),
      side(name, options) {
        const through = throughProxy(serverUrl, options.proxy);
        return name === 'naive' ? naiveSide(through, options) : lifelineSide(through, options);
      },
      auditWrites: (runId, side, acknowledged) => auditWrites(serverUrl, runId, side, acknowledged),
      cleanup: (runId) => cleanup(serverUrl, runId),
      stop: async () => {},
    };
  },
};
