// Type-level test, compiled by `tsc --noEmit` (part of `npm test`), never run: lifeline-net/pg's Pool and
// PoolClient take what application code writes against @types/pg, and go where code typed against pg expects
// a pg.Pool or a pg.PoolClient (a library's `pool: Pool` parameter, Kysely's PostgresDialect, Drizzle).
// Each `@ts-expect-error` line must NOT compile: if it ever does, tsc reports the unused directive.
import { drizzle } from 'drizzle-orm/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import pg, { type Query, type QueryArrayResult, type QueryResult, type TransactionStatus } from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { type LifelinePoolOptions, Pool, type PoolClient } from '../../../src/adapters/pg/index.js';

interface User {
  id: number;
  name: string;
}

/** Code a library writes against pg: takes a pg.Pool or a pg.PoolClient. */
function libraryTakingPgPool(pool: pg.Pool): Promise<QueryResult<User>> {
  return pool.query<User>('select id, name from users');
}
function libraryTakingPgClient(client: pg.PoolClient): void {
  client.release();
}

export async function rowTypes(pool: Pool, id: number): Promise<string | undefined> {
  const result = await pool.query<User>('select id, name from users where id = $1', [id]);
  result satisfies QueryResult<User>;
  const first = result.rows[0];
  first?.id satisfies number | undefined;
  // @ts-expect-error: User has no column `email`
  first?.email;
  // @ts-expect-error: the row type is the row, not the whole result (lifeline's old query<R> took the result)
  await pool.query<QueryResult<User>>('select 1').then((r) => r.rows[0]?.id satisfies number | undefined);

  // Without a row type, rows read as they do with pg.
  const untyped = await pool.query('select 1 as n');
  const n: number = untyped.rows[0].n;
  untyped.rowCount satisfies number | null;
  untyped.fields[0]?.dataTypeID satisfies number | undefined;

  // The values' type, when given.
  await pool.query<User, [number]>('select * from users where id = $1', [id]);
  // @ts-expect-error: values must be [number]
  await pool.query<User, [number]>('select * from users where id = $1', ['one']);

  const config = await pool.query<User>({ text: 'select * from users where id = $1', values: [n] });
  return config.rows[0]?.name;
}

export async function arrayRows(pool: Pool, client: PoolClient): Promise<void> {
  const rows = await pool.query<[number, string]>({
    text: 'select 1, $1::text',
    values: ['a'],
    rowMode: 'array',
  });
  rows satisfies QueryArrayResult<[number, string]>;
  const [num, text] = rows.rows[0] ?? [0, ''];
  num satisfies number;
  text satisfies string;
  const onClient = await client.query<[boolean]>({ text: 'select true', rowMode: 'array' });
  onClient.rows[0]?.[0] satisfies boolean | undefined;
  // @ts-expect-error: an array row has no named column
  onClient.rows[0]?.id;
}

export function callbacks(pool: Pool, client: PoolClient): void {
  pool.query('select 1', (err, result) => {
    err satisfies Error;
    result satisfies QueryResult;
  });
  pool.query<User>('select * from users where id = $1', [1], (_err, result) => {
    result.rows[0]?.name satisfies string | undefined;
  });
  pool.query<[number]>({ text: 'select 1', rowMode: 'array' }, (_err, result) => {
    result satisfies QueryArrayResult<[number]>;
  });
  client.query<User>('select * from users', (_err, result) => {
    // @ts-expect-error: User has no column `email`
    result.rows[0]?.email;
  });
  pool.connect((err, pooled, done) => {
    if (err !== undefined || pooled === undefined) return;
    pooled.query('select 1').then(() => done(), done);
  });
  pool.end(() => {});
}

export async function submittables(pool: Pool, client: PoolClient): Promise<void> {
  // A Submittable comes back as itself: pg.Query, pg-cursor's Cursor, pg-query-stream's QueryStream, any other.
  const cursor = client.query(new Cursor<User>('select * from users where id > $1', [0]));
  const batch = await cursor.read(100);
  batch[0]?.name satisfies string | undefined;
  // @ts-expect-error: User has no column `email`
  batch[0]?.email;
  await cursor.close();
  const stream = pool.query(new QueryStream('select * from users', [], { batchSize: 50 }));
  stream satisfies QueryStream;
  for await (const row of stream) row satisfies unknown;
  const query = pool.query(new pg.Query('select 1'));
  query satisfies Query;
  query.on('row', (row) => row);
  const onClient = client.query(new pg.Query<User>('select * from users'));
  onClient satisfies Query<User>;
  class OwnSubmittable implements pg.Submittable {
    submit(): void {}
    read(): Promise<User[]> {
      return Promise.resolve([]);
    }
  }
  pool.query(new OwnSubmittable()).read() satisfies Promise<User[]>;
}

export async function lifelineFields(pool: Pool, client: PoolClient): Promise<void> {
  // lifeline's per-query fields, wherever pg takes a QueryConfig.
  await pool.query<User>({ text: 'select * from users', deadlineMs: 500, idempotent: true });
  await pool.query({ text: 'select 1', rowMode: 'array', deadlineMs: 500 });
  await client.query<User>({ text: 'select * from users', deadlineMs: 500 });
  // @ts-expect-error: deadlineMs is a number of milliseconds
  await pool.query({ text: 'select 1', deadlineMs: '5s' });
}

export async function checkout(pool: Pool): Promise<void> {
  const client = await pool.connect();
  client satisfies PoolClient;
  client.getTransactionStatus() satisfies TransactionStatus;
  client.on('notification', (message) => message.channel);
  client.release();
  client.release(true);
  client.release(new Error('broken'));
  libraryTakingPgClient(client);
  // @ts-expect-error: release takes an Error or a boolean
  client.release('yes');
}

export function events(pool: Pool): void {
  pool.on('connect', (client) => client.query('set search_path to app'));
  pool.on('acquire', (client) => client.release satisfies (err?: Error | boolean) => void);
  pool.on('remove', (client) => client.database);
  pool.on('release', (err, client) => [err.message, client]);
  pool.on('error', (err, client) => [err.message, client.release]);
  // @ts-expect-error: 'connect' listeners take the client alone
  pool.on('connect', (err: Error, client: pg.PoolClient) => [err, client]);
}

export function optionsAndCounts(pool: Pool): number {
  const options: LifelinePoolOptions = pool.options;
  options satisfies pg.PoolOptions;
  pool.ending satisfies boolean;
  pool.ended satisfies boolean;
  // @ts-expect-error: counts are read-only
  pool.totalCount = 0;
  return pool.options.max + pool.totalCount + pool.idleCount + pool.waitingCount + pool.expiredCount;
}

interface Database {
  users: User;
}

export async function libraries(pool: Pool, client: PoolClient): Promise<void> {
  await libraryTakingPgPool(pool);
  const asPg: pg.Pool = pool;
  asPg.options.max satisfies number;
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await kysely.selectFrom('users').select(['id', 'name']).execute();
  drizzle(pool);
  drizzle({ client: pool });
  drizzle(client);
}

new Pool() satisfies pg.Pool;
