// The soak's database workloads (pg, ioredis, node-redis, mysql2): a mixed read/write loop per adapter through
// its fault proxy, each write a unique id (acknowledged ids kept), and the check afterwards on a direct
// connection: every acknowledged id present, none applied twice. HTTP and peers: soak/http-workloads.ts.

import { Redis as IORedis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createPool as createMysqlPool, type Pool as MysqlPool } from '../src/adapters/mysql/promise.js';
import { Pool as LifelinePgPool } from '../src/adapters/pg/index.js';
import { createClient, Redis as LifelineRedis } from '../src/adapters/redis/index.js';

/**
 * The watch every soak client gets: a silent peer is found within about 2 s (keepalive after 1 s idle, 1 s
 * apart; TCP_USER_TIMEOUT and write stalls 2 s), so an operation's bound can be a few seconds. The defaults
 * (tens of seconds) bound operations too, only later than a short soak can wait.
 */
export const SOCKET = {
  keepaliveIdleMs: 1000,
  keepaliveIntervalMs: 1000,
  keepaliveCount: 2,
  userTimeoutMs: 2000,
  writeStallMs: 2000,
} as const;

export interface Workload {
  readonly name: string;
  /** The real server the proxy forwards to (host:port). */
  readonly upstream: string;
  /** Longest an operation may take, faults included, before it counts as past its deadline. */
  readonly boundMs: number;
  /** Starts what the workload needs (a table, a server); resolves with the upstream when it made one. */
  setup(): Promise<void>;
  /** Opens the adapter's client through the proxy at `host:port`. */
  open(host: string, port: number): void;
  write(id: number): Promise<void>;
  read(): Promise<void>;
  close(): Promise<void>;
  /** After close, on a direct path: acknowledged writes missing and writes applied more than once. */
  verify(acked: Ids): Promise<{ lost: number; duplicated: number }>;
  /** Connections the server side holds now, when the workload's server can tell (else the proxy's count). */
  serverConnections?(): number;
  /** Stops what setup() started. */
  teardown?(): Promise<void>;
}

/** The acknowledged ids (an IdCounts in the soak; anything with has() and iteration). */
export interface Ids extends Iterable<number> {
  has(id: number): boolean;
  readonly size: number;
}

/** What the server applied: each id's count (a Map, or an IdCounts). */
export interface Applied {
  has(id: number): boolean;
  entries(): Iterable<[number, number]>;
}

/** Lost and duplicated ids from the server's count of each id. */
export function tally(acked: Ids, applied: Applied): { lost: number; duplicated: number } {
  let lost = 0;
  for (const id of acked) if (!applied.has(id)) lost++;
  let duplicated = 0;
  for (const [, n] of applied.entries()) if (n > 1) duplicated++;
  return { lost, duplicated };
}

export function pgWorkload(run: string): Workload {
  const direct = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
  let pool: LifelinePgPool | undefined;
  const need = () => {
    if (!pool) throw new Error('pg workload not opened');
    return pool;
  };
  return {
    name: 'pg',
    upstream: '127.0.0.1:5432',
    // acquire 2 s + query deadline 2 s, plus scheduling slack on a loaded machine.
    boundMs: 8000,
    async setup() {
      const client = new pg.Client(direct);
      await client.connect();
      await client.query('create table if not exists soak_writes (run text not null, id int not null)');
      await client.query('delete from soak_writes where run = $1', [run]);
      await client.end();
    },
    open(host, port) {
      pool = new LifelinePgPool({
        host,
        port,
        user: 'postgres',
        database: 'test',
        max: 4,
        lifeline: {
          acquireTimeoutMs: 2000,
          queryDeadlineMs: 2000,
          connectTimeoutMs: 1000,
          verifyAfterMs: 500,
          keepaliveIdleMs: 1000,
          keepaliveIntervalMs: 1000,
          userTimeoutMs: 2000,
          writeStallMs: 2000,
        },
      });
      pool.on('error', () => {});
    },
    async write(id) {
      await need().query('insert into soak_writes (run, id) values ($1, $2)', [run, id]);
    },
    async read() {
      await need().query('select count(*) from soak_writes where run = $1', [run]);
    },
    async close() {
      await pool?.end();
    },
    async verify(acked) {
      const client = new pg.Client(direct);
      await client.connect();
      const { rows } = await client.query<{ id: number; n: string }>(
        'select id, count(*) as n from soak_writes where run = $1 group by id',
        [run],
      );
      await client.query('delete from soak_writes where run = $1', [run]);
      await client.end();
      return tally(acked, new Map(rows.map((r) => [Number(r.id), Number(r.n)])));
    },
  };
}

async function redisApplied(key: string): Promise<Map<number, number>> {
  const direct = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  const ids = await direct.lrange(key, 0, -1);
  await direct.del(key);
  direct.disconnect();
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(Number(id), (counts.get(Number(id)) ?? 0) + 1);
  return counts;
}

async function redisClear(key: string): Promise<void> {
  const direct = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  await direct.del(key);
  direct.disconnect();
}

/** lifeline-net/redis's `Redis` (ioredis API). RPUSH is not idempotent: applied twice, the id shows twice. */
export function redisWorkload(run: string): Workload {
  const key = `lifeline:soak:${run}`;
  let client: LifelineRedis | undefined;
  const need = () => {
    if (!client) throw new Error('redis workload not opened');
    return client;
  };
  return {
    name: 'redis',
    upstream: '127.0.0.1:6379',
    boundMs: 8000,
    setup: () => redisClear(key),
    open(host, port) {
      client = new LifelineRedis({
        host,
        port,
        commandTimeout: 2000,
        maxRetriesPerRequest: 2,
        retryStrategy: () => 50,
        connectTimeout: 1000,
        lifeline: { replyOverdueMs: 500, socket: SOCKET },
      });
      client.on('error', () => {});
    },
    async write(id) {
      await need().rpush(key, String(id));
    },
    async read() {
      await need().llen(key);
    },
    async close() {
      client?.disconnect();
    },
    async verify(acked) {
      return tally(acked, await redisApplied(key));
    },
  };
}

/**
 * lifeline-net/redis's `createClient` (node-redis API): node-redis times a command only while it is unwritten;
 * lifeline's commandDeadlineMs bounds it whole (resends included), 2 s inside the soak's bound for a loaded
 * machine's timer lag.
 */
export function redisNodeWorkload(run: string): Workload {
  const key = `lifeline:soak:node:${run}`;
  let client: ReturnType<typeof createClient> | undefined;
  const need = () => {
    if (!client) throw new Error('redis-node workload not opened');
    return client;
  };
  return {
    name: 'redis-node',
    upstream: '127.0.0.1:6379',
    boundMs: 8000,
    setup: () => redisClear(key),
    open(host, port) {
      client = createClient({
        socket: { host, port, connectTimeout: 1000, reconnectStrategy: () => 50 },
        lifeline: { replyOverdueMs: 500, commandDeadlineMs: 6000, socket: SOCKET },
      });
      client.on('error', () => {});
      client.connect().catch(() => {});
    },
    async write(id) {
      await need().rPush(key, String(id));
    },
    async read() {
      await need().lLen(key);
    },
    async close() {
      client?.destroy();
    },
    async verify(acked) {
      return tally(acked, await redisApplied(key));
    },
  };
}

/** lifeline-net/mysql (promise API) against the machine's MariaDB; a table without a key, so a twice-applied
 * INSERT shows as two rows. */
export function mysqlWorkload(run: string): Workload {
  const direct = { host: '127.0.0.1', port: 3306, user: 'root', database: 'test' };
  const table = `soak_writes_${run.replace(/[^a-zA-Z0-9]/g, '_')}`;
  let pool: MysqlPool | undefined;
  const need = () => {
    if (!pool) throw new Error('mysql workload not opened');
    return pool;
  };
  return {
    name: 'mysql',
    upstream: '127.0.0.1:3306',
    boundMs: 8000,
    async setup() {
      const c = await mysql.createConnection(direct);
      await c.query(`drop table if exists ${table}`);
      await c.query(`create table ${table} (id int not null)`);
      await c.end();
    },
    open(host, port) {
      pool = createMysqlPool({
        host,
        port,
        user: 'root',
        database: 'test',
        connectionLimit: 4,
        connectTimeout: 1000,
        lifeline: {
          acquireTimeoutMs: 2000,
          queryDeadlineMs: 2000,
          verifyAfterMs: 500,
          keepaliveIdleMs: 1000,
          keepaliveIntervalMs: 1000,
          userTimeoutMs: 2000,
          writeStallMs: 2000,
        },
      });
      pool.pool.on('error', () => {});
    },
    async write(id) {
      await need().execute(`insert into ${table} (id) values (?)`, [id]);
    },
    async read() {
      await need().query(`select count(*) as n from ${table}`);
    },
    async close() {
      await pool?.end();
    },
    async verify(acked) {
      const c = await mysql.createConnection(direct);
      const [rows] = await c.query(`select id, count(*) as n from ${table} group by id`);
      await c.query(`drop table if exists ${table}`);
      await c.end();
      const list = rows as { id: number; n: number }[];
      return tally(acked, new Map(list.map((r) => [Number(r.id), Number(r.n)])));
    },
  };
}
