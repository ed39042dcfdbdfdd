// The soak's workloads: a mixed read/write loop per adapter through its fault proxy, each write a unique id
// (acknowledged ids kept), and the check afterwards on a direct connection: every acknowledged id present,
// none applied twice.

import { Redis as IORedis } from 'ioredis';
import pg from 'pg';
import { Pool as LifelinePgPool } from '../src/adapters/pg/index.js';
import { Redis as LifelineRedis } from '../src/adapters/redis/index.js';

export interface Workload {
  readonly name: string;
  /** The real server the proxy forwards to. */
  readonly upstream: string;
  /** Longest an operation may take, faults included, before it counts as past its deadline. */
  readonly boundMs: number;
  setup(run: string): Promise<void>;
  /** Opens the adapter's client through the proxy on `port`. */
  open(port: number): void;
  write(id: number): Promise<void>;
  read(): Promise<void>;
  close(): Promise<void>;
  /** On a direct connection: how many times each id was applied. */
  applied(): Promise<Map<number, number>>;
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
    open(port) {
      pool = new LifelinePgPool({
        host: '127.0.0.1',
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
    async applied() {
      const client = new pg.Client(direct);
      await client.connect();
      const { rows } = await client.query<{ id: number; n: string }>(
        'select id, count(*) as n from soak_writes where run = $1 group by id',
        [run],
      );
      await client.query('delete from soak_writes where run = $1', [run]);
      await client.end();
      return new Map(rows.map((r) => [Number(r.id), Number(r.n)]));
    },
  };
}

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
    async setup() {
      const direct = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
      await direct.connect();
      await direct.del(key);
      direct.disconnect();
    },
    open(port) {
      client = new LifelineRedis({
        host: '127.0.0.1',
        port,
        commandTimeout: 2000,
        maxRetriesPerRequest: 2,
        retryStrategy: () => 50,
        connectTimeout: 1000,
        lifeline: { replyOverdueMs: 500 },
      });
      client.on('error', () => {});
    },
    async write(id) {
      // RPUSH is not idempotent: applied twice, the id shows twice.
      await need().rpush(key, String(id));
    },
    async read() {
      await need().llen(key);
    },
    async close() {
      client?.disconnect();
    },
    async applied() {
      const direct = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
      await direct.connect();
      const ids = await direct.lrange(key, 0, -1);
      await direct.del(key);
      direct.disconnect();
      const counts = new Map<number, number>();
      for (const id of ids) counts.set(Number(id), (counts.get(Number(id)) ?? 0) + 1);
      return counts;
    },
  };
}
