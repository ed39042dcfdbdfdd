// A lifeline-net/pg Pool is a pg.Pool: `instanceof pg.Pool` (Prisma's adapter-pg and Drizzle branch on it),
// with pg.Pool's `options` and counts, and clients that are pg.Client objects. Checked from the source and
// from the built package in both module systems (`npm test` builds dist/ before the suite runs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import ts from 'typescript';
import { Pool } from '../../../src/adapters/pg/index.js';
import { requireService, services } from '../../support/services.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('a lifeline-net/pg Pool is instanceof pg.Pool, and constructing one opens nothing', async () => {
  const pool = new Pool({ host: '127.0.0.1', port: 1, max: 4 });
  assert.ok(pool instanceof pg.Pool);
  assert.equal(pool.totalCount, 0);
  assert.equal(pool.idleCount, 0);
  assert.equal(pool.waitingCount, 0);
  assert.equal(pool.expiredCount, 0);
  assert.equal(pool.ending, false);
  assert.equal(pool.ended, false);
  await pool.end();
  assert.equal(pool.ended, true);
});

test("options are pg.Pool's: the same defaults, the password hidden, no `lifeline` key", async () => {
  const config = {
    host: '127.0.0.1',
    user: 'u',
    password: 'S3cret',
    database: 'd',
    lifeline: { maxRetries: 1 },
  };
  const ours = new Pool(config);
  const { lifeline: _, ...pgConfig } = config;
  const theirs = new pg.Pool(pgConfig);
  assert.deepEqual({ ...ours.options }, { ...theirs.options });
  assert.equal(ours.options.password, 'S3cret');
  assert.ok(!Object.keys(ours.options).includes('password'), 'the password is not enumerable');
  assert.ok(!JSON.stringify(ours.options).includes('S3cret'));
  assert.equal('lifeline' in ours.options, false);
  await Promise.all([ours.end(), theirs.end()]);
});

test("clients are pg.Client objects and the counts are lifeline's own", { timeout: 20_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const { host, port, user, database } = services.postgres;
  const pool = new Pool({ host, port, user, database, max: 2 });
  t.after(() => pool.end());
  const client = await pool.connect();
  assert.ok(client instanceof pg.Client);
  assert.equal(typeof client.release, 'function');
  assert.deepEqual([pool.totalCount, pool.idleCount], [1, 0]);
  const result = await client.query<{ n: number }>({ text: 'select 1::int as n', deadlineMs: 5_000 });
  assert.equal(result.rows[0]?.n, 1);
  client.release();
  assert.deepEqual([pool.totalCount, pool.idleCount, pool.waitingCount], [1, 1, 0]);
  const stats = pool.stats();
  assert.deepEqual([stats.total, stats.idle, stats.waiting], [1, 1, 0]);
});

test('the built package: instanceof pg.Pool from ESM and from CommonJS', () => {
  assert.ok(existsSync(join(root, 'dist', 'pg.cjs')), 'dist/ is missing: npm test builds it (tsup) first');
  const cases = [
    [
      '--input-type=module',
      '-e',
      "import pg from 'pg'; import { Pool } from 'lifeline-net/pg'; const p = new Pool(); process.stdout.write(String(p instanceof pg.Pool)); await p.end();",
    ],
    [
      '--input-type=commonjs',
      '-e',
      "const pg = require('pg'); const { Pool } = require('lifeline-net/pg'); const p = new Pool(); process.stdout.write(String(p instanceof pg.Pool)); p.end();",
    ],
  ];
  for (const args of cases) {
    const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'true', `${args[0]}: ${run.stderr}`);
  }
});

/**
 * Type-checks `source` as a file of a user's project against the built declarations in dist/ (skipLibCheck
 * off, so they are checked too). The file is served from memory, as if it were test/<name>.
 */
function typeErrors(name: string, source: string, options: ts.CompilerOptions): string[] {
  const file = join(root, 'test', name);
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => path === file || fileExists.call(host, path);
  host.readFile = (path) => (path === file ? source : readFile.call(host, path));
  host.getSourceFile = (path, target, ...rest) =>
    path === file
      ? ts.createSourceFile(path, source, target)
      : getSourceFile.call(host, path, target, ...rest);
  const program = ts.createProgram({ rootNames: [file], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const consumer = (importLine: string): string => `${importLine}
interface User { id: number; name: string }
const pool = new Pool({ max: 2 });
const asPg: pg.Pool = pool;
export async function run(): Promise<string | undefined> {
  const client: pg.PoolClient = await asPg.connect();
  client.release();
  return (await pool.query<User>('select $1::int as id', [1])).rows[0]?.name;
}
`;

test('the built declarations: a Pool is a pg.Pool in ESM and CommonJS projects', () => {
  assert.ok(existsSync(join(root, 'dist', 'pg.d.cts')), 'dist/ is missing: npm test builds it (tsup) first');
  const base: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
  };
  const cjs = "import pg = require('pg');\nimport { Pool } from '../dist/pg.cjs';";
  const node16 = { ...base, module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 };
  assert.deepEqual(typeErrors('h-consumer.cts', consumer(cjs), node16), [], 'CommonJS');
  const esm = "import pg from 'pg';\nimport { Pool } from '../dist/pg.js';";
  assert.deepEqual(typeErrors('h-consumer.mts', consumer(esm), node16), [], 'ESM');
  // Without esModuleInterop a default import of pg does not resolve, and a Pool declared as extending it would
  // lose every pg.Pool member (TypeScript still compiles with skipLibCheck): pg's types are imported by name.
  for (const file of readdirSync(join(root, 'dist')).filter((f) => /\.d\.c?ts$/.test(f))) {
    const text = readFileSync(join(root, 'dist', file), 'utf8');
    assert.doesNotMatch(text, /import\s+\w+\s*(,|from)[^;]*from\s*'pg'|import\s+\w+\s+from\s*'pg'/, file);
  }
});
