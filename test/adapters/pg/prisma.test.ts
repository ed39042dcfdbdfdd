// Prisma 7 with @prisma/adapter-pg over a lifeline-net/pg Pool. `new PrismaPg(pool)` uses its argument as the
// pool only when `pool instanceof pg.Pool`; otherwise it builds a pg.Pool of its own from `pool.options`, and
// lifeline would serve nothing. Prisma 7's `prisma-client` generator needs no Rust engine (the query compiler
// is WebAssembly inside @prisma/client); `prisma generate` still looks for the schema engine binary, which it
// does not run: PRISMA_SCHEMA_ENGINE_BINARY names a stand-in file so nothing is downloaded. The client is
// generated at test time under node_modules/.cache (outside tsc's and Biome's view) and removed afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Pool } from '../../../src/adapters/pg/index.js';
import { requireService, services } from '../../support/services.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const table = `lifeline_prisma_${process.pid}`;

const schema = `generator client {
  provider = "prisma-client"
  output   = "./generated"
}

datasource db {
  provider = "postgresql"
}

model Account {
  id      Int    @id @default(autoincrement())
  email   String @unique
  balance Int    @default(0)

  @@map("${table}")
}
`;

interface Account {
  id: number;
  email: string;
  balance: number;
}

/** The part of the generated PrismaClient this test uses. */
interface Client {
  account: {
    create(args: { data: { email: string; balance?: number } }): Promise<Account>;
    update(args: { where: { email: string }; data: { balance: { increment: number } } }): Promise<Account>;
    findMany(args: { orderBy: { email: 'asc' } }): Promise<Account[]>;
  };
  $transaction<T>(fn: (tx: Client) => Promise<T>): Promise<T>;
  $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T>;
  $disconnect(): Promise<void>;
}
type ClientConstructor = new (options: { adapter: PrismaPg }) => Client;

function skipLoudly(t: TestContext, why: string): void {
  console.warn(`\n!!! SKIPPED: ${why}`);
  t.skip(`SKIPPED: ${why}`);
}

/**
 * Generates the client into a fresh directory and returns its PrismaClient, or the reason it could not be
 * generated on this machine.
 */
async function generateClient(dir: string): Promise<ClientConstructor | string> {
  let cli: string;
  try {
    cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  } catch (error) {
    return `the prisma package is not installed (${(error as Error).message}); run npm ci`;
  }
  writeFileSync(join(dir, 'schema.prisma'), schema);
  const engine = join(dir, 'schema-engine-stand-in');
  writeFileSync(engine, '#!/bin/sh\necho "the schema engine is not used by this test" >&2\nexit 1\n');
  chmodSync(engine, 0o755);
  const run = spawnSync(process.execPath, [cli, 'generate', '--schema', join(dir, 'schema.prisma')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: engine,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  });
  const entry = join(dir, 'generated', 'client.ts');
  if (run.status !== 0 || !existsSync(entry)) {
    const why = run.error?.message ?? `exit ${run.status}`;
    return `prisma generate failed on this machine (${why}): ${`${run.stderr}${run.stdout}`.trim().slice(-600)}`;
  }
  const mod = (await import(pathToFileURL(entry).href)) as { PrismaClient: ClientConstructor };
  return mod.PrismaClient;
}

test('Prisma 7 + @prisma/adapter-pg run on a lifeline-net/pg Pool', { timeout: 180_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'lifeline-prisma-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const PrismaClient = await generateClient(dir);
  if (typeof PrismaClient === 'string') {
    skipLoudly(t, PrismaClient);
    return;
  }

  const { host, port, user, database } = services.postgres;
  const admin = new pg.Client({ host, port, user, database });
  await admin.connect();
  await admin.query(`drop table if exists ${table}`);
  await admin.query(
    `create table ${table} (id serial primary key, email text not null unique, balance int not null default 0)`,
  );
  const pool = new Pool({ host, port, user, database, max: 3 });
  t.after(async () => {
    if (!pool.ending) await pool.end();
    await admin.query(`drop table if exists ${table}`);
    await admin.end();
  });
  assert.ok(pool instanceof pg.Pool, 'a lifeline-net/pg Pool is a pg.Pool');

  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const a = await prisma.account.create({ data: { email: 'a@example.com', balance: 10 } });
  assert.equal(a.email, 'a@example.com');
  assert.equal(a.balance, 10);
  await prisma.account.create({ data: { email: 'b@example.com' } });
  const afterCreates = pool.stats().acquired;
  assert.ok(afterCreates >= 2, `lifeline's pool served the creates (acquired ${afterCreates})`);

  // An interactive transaction: Prisma checks a client out of the pool (pool.connect) and runs BEGIN … COMMIT.
  const moved = await prisma.$transaction(async (tx) => {
    await tx.account.update({ where: { email: 'a@example.com' }, data: { balance: { increment: -4 } } });
    return tx.account.update({ where: { email: 'b@example.com' }, data: { balance: { increment: 4 } } });
  });
  assert.equal(moved.balance, 4);

  const rows = await prisma.account.findMany({ orderBy: { email: 'asc' } });
  assert.deepEqual(
    rows.map((r) => [r.email, r.balance]),
    [
      ['a@example.com', 6],
      ['b@example.com', 4],
    ],
  );
  const raw = await prisma.$queryRawUnsafe<{ total: number }[]>(
    `select sum(balance)::int as total from ${table} where email like $1`,
    '%@example.com',
  );
  assert.deepEqual(raw, [{ total: 10 }]);

  // Every statement went through lifeline's pool: no pg.Pool of Prisma's own served any of them.
  const stats = pool.stats();
  assert.ok(stats.acquired > afterCreates, 'the transaction, findMany and the raw query used it too');
  assert.equal(stats.busy, 0, 'every client Prisma took is back');
  assert.ok(pool.totalCount >= 1 && pool.totalCount <= 3);
  const seen = await admin.query<{ sum: number }>(`select sum(balance)::int as sum from ${table}`);
  assert.equal(seen.rows[0]?.sum, 10);

  await prisma.$disconnect();
  assert.equal(pool.ending, false, '$disconnect leaves a pool it did not create open, as with pg.Pool');
  assert.equal((await pool.query<{ n: number }>('select 1::int as n')).rows[0]?.n, 1);
});
