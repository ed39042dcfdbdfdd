// `lifeline check URL` against the machine's real Postgres, MariaDB, Redis and a private PgBouncer (and a
// private redis-server whose `timeout` may be changed freely): the --json report parsed and its values
// compared with what the test itself reads from the server, the exit codes, and no password in any output.
// Server settings are changed only where no other client can see them: a role's own settings (ALTER ROLE,
// dropped after), a private PgBouncer, a private redis-server.
// Past 400 lines on purpose: one command's end-to-end tests over four servers, sharing the runner above them.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { loadDriver } from '../../src/cli/check/load.js';
import { CheckDriverMissingError, type CheckReport } from '../../src/cli/check/types.js';
import { LiveSocket } from '../../src/socket/index.js';
import { freePort } from '../support/pg-cluster.js';
import { PgBouncer } from '../support/pgbouncer.js';
import { requireCapability, requireService, services } from '../support/services.js';
import { requireTools } from '../support/tools.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SECRET = 'hunter2-Secret';
const { postgres: PG, mysql: MY, redis: RD } = services;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `lifeline check …` through tsx, as the built bin runs it. */
function check(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, 'check', ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** `check … --json` and its parsed report; the password never appears in either stream. */
async function report(args: string[]): Promise<{ code: number; report: CheckReport }> {
  const run = await check([...args, '--json']);
  assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET), 'the password appears in the output');
  assert.ok([0, 1].includes(run.code), `exit ${run.code}: ${run.stderr}`);
  return { code: run.code, report: JSON.parse(run.stdout) as CheckReport };
}

function finding(r: CheckReport, code: string) {
  return r.findings.find((f) => f.code === code);
}

/** What a LiveSocket with default options gets from this machine's kernel, read here in the test. */
async function ownCapabilities(host: string, port: number) {
  const socket = LiveSocket.connect({ host, port, connectTimeoutMs: 5000 });
  await socket.ready();
  const caps = socket.capabilities();
  socket.destroy();
  return caps;
}

test('postgres: role settings, an idle-in-transaction session, fleet over the limit, client side, no password', {
  timeout: 90_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const admin = new pg.Client({ ...PG });
  await admin.connect();
  const role = `lifeline_check_${process.pid}`;
  const app = `lifeline-check-test-${process.pid}`;
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  const idle = new pg.Client({ ...PG, application_name: app });
  t.after(async () => {
    await idle.end().catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });
  // Settings only this role's sessions see; pg_read_all_stats so it sees other sessions' states.
  await admin.query(`GRANT pg_read_all_stats TO ${role}`);
  await admin.query(`ALTER ROLE ${role} SET idle_session_timeout = '5s'`);
  await admin.query(`ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '90s'`);
  await idle.connect();
  await idle.query('BEGIN');
  await idle.query('SELECT 1');
  const pid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
  const limits = await admin.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')",
  );
  const setting = (n: string) => Number(limits.rows.find((r) => r.name === n)?.setting ?? 0);
  const available =
    setting('max_connections') - setting('superuser_reserved_connections') - setting('reserved_connections');

  const url = `postgres://${role}:${SECRET}@${PG.host}:${PG.port}/${PG.database}`;
  const instances = Math.ceil((available + 1) / 4);
  const { code, report: r } = await report([url, '--instances', String(instances), '--pool-max', '4']);
  assert.equal(code, 1);
  assert.equal(r.target.kind, 'postgres');
  assert.equal(r.target.url, `postgres://${role}:***@${PG.host}:${PG.port}/${PG.database}`);
  assert.deepEqual(r.settings.idle_session_timeout, { value: '5000', ms: 5000 });
  assert.deepEqual(r.settings.idle_in_transaction_session_timeout, { value: '90000', ms: 90_000 });
  assert.equal(finding(r, 'pg.idle-session-timeout')?.level, 'warn');
  assert.equal(finding(r, 'pg.idle-in-transaction-timeout')?.level, 'info');
  const idleAdvice = r.advice.find((a) => a.option === 'lifeline-net/pg: idleTimeoutMillis');
  assert.equal(idleAdvice?.value, '4000 (and min: 0)');

  const mine = r.server.idleInTransaction.find((s) => s.id === String(pid));
  assert.ok(mine, `pid ${pid} missing from ${JSON.stringify(r.server.idleInTransaction)}`);
  assert.equal(mine.application, app);
  assert.equal(mine.address, '127.0.0.1');
  assert.equal(finding(r, 'pg.idle-in-transaction')?.level, 'warn');
  const group = r.server.groups.find((g) => g.application === app);
  assert.deepEqual(group && { state: group.state, count: group.count }, {
    state: 'idle in transaction',
    count: 1,
  });
  assert.ok(r.server.groups.some((g) => g.application === 'lifeline check' && g.user === role));

  assert.deepEqual(r.server.limit, {
    setting: 'max_connections',
    max: setting('max_connections'),
    reserved: available === setting('max_connections') ? 0 : setting('max_connections') - available,
    available,
  });
  assert.deepEqual(r.fleet, {
    instances,
    poolMax: 4,
    total: instances * 4,
    available,
    fits: false,
    headroom: available - instances * 4,
  });
  const over = finding(r, 'fleet.over-limit');
  assert.equal(over?.level, 'warn');
  assert.match(over?.message ?? '', /PgBouncer in transaction mode/);
  assert.match(over?.message ?? '', /SET LOCAL/);
  assert.deepEqual(r.client.capabilities, await ownCapabilities(PG.host, PG.port));

  // The same check as text: the idle-in-transaction row in the table, the password hidden.
  const text = await check([url]);
  assert.equal(text.code, 1, text.stderr);
  assert.ok(!`${text.stdout}${text.stderr}`.includes(SECRET));
  const row = new RegExp(
    `^\\s+${app}\\s+postgres\\s+127\\.0\\.0\\.1\\s+idle in transaction\\s+1\\s+\\d+ s$`,
    'm',
  );
  assert.match(text.stdout, row);
  assert.match(
    text.stdout,
    new RegExp(`^\\s+${pid}\\s+${app}\\s+postgres\\s+127\\.0\\.0\\.1\\s+\\d+ s\\s+\\d+ s$`, 'm'),
  );
});

test('postgres: a fleet that fits', { timeout: 60_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const { report: r } = await report([
    `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`,
    '--instances',
    '2',
    '--pool-max',
    '3',
  ]);
  assert.ok(r.server.limit);
  assert.equal(r.fleet?.total, 6);
  assert.equal(r.fleet?.fits, true);
  assert.equal(r.fleet?.headroom, r.server.limit.available - 6);
  assert.equal(finding(r, 'fleet.over-limit'), undefined);
  assert.ok(finding(r, 'fleet.fits') ?? finding(r, 'fleet.tight'));
});

test('mysql: global settings, a connection sleeping in a transaction, fleet over the limit', {
  timeout: 60_000,
}, async (t) => {
  if (!(await requireService(t, 'mysql'))) return;
  const conn = await mysql.createConnection({
    host: MY.host,
    port: MY.port,
    user: MY.user,
    database: MY.database,
  });
  t.after(() => conn.end());
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  const [vars] = await conn.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wait_timeout', 'max_connections')",
  );
  const value = (n: string) =>
    String((vars as { Variable_name: string; Value: string }[]).find((v) => v.Variable_name === n)?.Value);
  const max = Number(value('max_connections'));

  const { code, report: r } = await report([
    `mysql://${MY.user}@${MY.host}:${MY.port}/${MY.database}`,
    '--instances',
    String(max + 1),
    '--pool-max',
    '1',
  ]);
  assert.equal(code, 1);
  assert.equal(r.target.kind, 'mysql');
  assert.deepEqual(r.settings.wait_timeout, {
    value: value('wait_timeout'),
    ms: Number(value('wait_timeout')) * 1000,
  });
  assert.deepEqual(r.server.limit, { setting: 'max_connections', max, reserved: 0, available: max });
  const mine = r.server.idleInTransaction.find((s) => s.id === String(conn.threadId));
  assert.ok(mine, `thread ${conn.threadId} missing from ${JSON.stringify(r.server.idleInTransaction)}`);
  assert.equal(mine.user, MY.user);
  assert.equal(finding(r, 'mysql.idle-in-transaction')?.level, 'warn');
  assert.equal(r.fleet?.fits, false);
  assert.equal(r.fleet?.headroom, -1);
  assert.match(finding(r, 'fleet.over-limit')?.message ?? '', /ProxySQL/);
});

/** A private redis-server on a free port (its settings are this test's own), or undefined if not installed. */
async function privateRedis(args: string[]): Promise<{ port: number; child: ChildProcess } | undefined> {
  try {
    accessSync('/usr/bin/redis-server', constants.X_OK);
  } catch {
    return undefined;
  }
  const port = await freePort();
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  // Ready once it answers PING (bounded: 200 tries 25 ms apart).
  for (let i = 0; i < 200; i++) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      await probe.quit();
      return { port, child };
    } catch {
      probe.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

test('redis: timeout 7 is reported with a warning; timeout 0 is not; a password never shows', {
  timeout: 60_000,
}, async (t) => {
  const server = await privateRedis(['--timeout', '7']);
  if (server === undefined) {
    console.warn('\n!!! SKIPPED: redis-server is not installed (apt-get install redis-server)');
    t.skip('SKIPPED: redis-server is not installed');
    return;
  }
  t.after(() => server.child.kill('SIGKILL'));
  // The server has no password: the URL's is refused with a warning by ioredis, and must not be shown.
  const url = `redis://:${SECRET}@127.0.0.1:${server.port}`;
  const { code, report: r } = await report([url, '--instances', '3', '--pool-max', '2']);
  assert.equal(code, 1);
  assert.equal(r.target.kind, 'redis');
  assert.deepEqual(r.settings.timeout, { value: '7', ms: 7000 });
  assert.equal(finding(r, 'redis.timeout')?.level, 'warn');
  assert.deepEqual(r.advice.find((a) => a.option === 'redis: timeout')?.value, '0');
  assert.ok(r.server.groups.some((g) => g.application === 'lifeline-check' && g.state === 'active'));
  assert.equal(r.fleet?.total, 6);
  assert.equal(r.fleet?.fits, true);

  const admin = new Redis({ port: server.port, host: '127.0.0.1' });
  await admin.call('CONFIG', 'SET', 'timeout', '0');
  await admin.quit();
  const after = await report([url]);
  assert.deepEqual(after.report.settings.timeout, { value: '0', ms: 0 });
  assert.equal(finding(after.report, 'redis.timeout'), undefined);
  assert.equal(after.code, after.report.findings.some((f) => f.level === 'warn') ? 1 : 0);
});

test('redis: the shared server read as it is', { timeout: 60_000 }, async (t) => {
  if (!(await requireService(t, 'redis'))) return;
  const admin = new Redis({ port: RD.port, host: RD.host });
  t.after(() => admin.quit());
  const [, timeout] = (await admin.call('CONFIG', 'GET', 'timeout')) as string[];
  const [, maxclients] = (await admin.call('CONFIG', 'GET', 'maxclients')) as string[];
  const { report: r } = await report([`redis://${RD.host}:${RD.port}`]);
  assert.equal(r.settings.timeout?.value, timeout);
  assert.deepEqual(r.server.limit, {
    setting: 'maxclients',
    max: Number(maxclients),
    reserved: 0,
    available: Number(maxclients),
  });
});

test('pgbouncer: SHOW POOLS/CLIENTS/CONFIG, pool mode advice, client_idle_timeout, fleet over max_client_conn', {
  timeout: 90_000,
}, async (t) => {
  if (!requireTools(t, 'pgbouncer')) return;
  if (!requireCapability(t, PgBouncer.unsupported())) return;
  if (!(await requireService(t, 'postgres'))) return;
  const bouncer = await PgBouncer.start({ mode: 'transaction', upstream: { ...PG }, adminUsers: [PG.user] });
  t.after(() => bouncer.stop());
  const app = `lifeline-check-pgb-${process.pid}`;
  const client = new pg.Client({
    host: bouncer.host,
    port: bouncer.port,
    user: PG.user,
    database: PG.database,
    application_name: app,
  });
  // client_idle_timeout (set below) closes this client when idle: that must not crash the test process.
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.end());
  await client.query('SELECT 1');
  const url = `postgres://${PG.user}:${SECRET}@${bouncer.host}:${bouncer.port}/pgbouncer`;

  const { report: r } = await report([url, '--instances', '10', '--pool-max', '25']);
  assert.equal(r.target.kind, 'pgbouncer');
  assert.match(r.server.version, /^PgBouncer /);
  assert.equal(r.settings.pool_mode?.value, 'transaction');
  assert.deepEqual(r.settings.max_client_conn, { value: '200', count: 200 });
  assert.equal(r.advice.find((a) => a.option === 'lifeline-net/pg: lifeline.pooler')?.value, "'transaction'");
  const pool = r.server.pools?.find((p) => p.database === PG.database);
  assert.equal(pool?.pool_mode, 'transaction');
  assert.equal(pool?.cl_waiting, 0);
  assert.ok(r.server.groups.some((g) => g.application === app && g.address === '127.0.0.1'));
  assert.deepEqual(r.fleet && { fits: r.fleet.fits, total: r.fleet.total, available: r.fleet.available }, {
    fits: false,
    total: 250,
    available: 200,
  });
  assert.equal(finding(r, 'fleet.over-limit')?.level, 'warn');
  assert.equal(finding(r, 'pgbouncer.client-idle-timeout'), undefined);

  // client_idle_timeout set on the private PgBouncer's console: reported, with the pool's idle timeout below it.
  const console_ = new pg.Client({
    host: bouncer.host,
    port: bouncer.port,
    user: PG.user,
    database: 'pgbouncer',
  });
  await console_.connect();
  await console_.query('SET client_idle_timeout = 5');
  await console_.end();
  const { code, report: cut } = await report([url]);
  assert.equal(code, 1);
  assert.equal(cut.settings.client_idle_timeout?.ms, 5000);
  assert.equal(finding(cut, 'pgbouncer.client-idle-timeout')?.level, 'warn');
  assert.equal(
    cut.advice.find((a) => a.option === 'lifeline-net/pg: idleTimeoutMillis')?.value,
    '4000 (and min: 0)',
  );
});

test('exit 3 for a closed port (each scheme), with --json an error object, no password', {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  for (const scheme of ['postgres', 'mysql', 'redis']) {
    const url = `${scheme}://user:${SECRET}@127.0.0.1:${port}/db`;
    const run = await check([url, '--timeout', '2000', '--json']);
    assert.equal(run.code, 3, `${scheme}: ${run.stderr}`);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET));
    const out = JSON.parse(run.stdout) as {
      target: { url: string };
      error: { code: string; message: string };
    };
    assert.equal(out.error.code, 'LIFELINE_CHECK_UNREACHABLE');
    assert.equal(out.target.url, `${scheme}://user:***@127.0.0.1:${port}/db`);
    assert.match(out.error.message, /ECONNREFUSED/);
  }
});

test('exit 2 for bad usage; --help and --version exit 0', { timeout: 60_000 }, async () => {
  const usage: string[][] = [
    [],
    ['ftp://127.0.0.1'],
    ['not a url'],
    ['postgres://127.0.0.1/test', 'redis://127.0.0.1'],
    ['postgres://127.0.0.1/test', '--instances', '3'],
    ['postgres://127.0.0.1/test', '--instances', '0', '--pool-max', '3'],
    ['postgres://127.0.0.1/test', '--timeout', 'soon'],
    ['postgres://127.0.0.1/test', '--frobnicate'],
    [`postgres://u:${SECRET}@/test`],
  ];
  for (const args of usage) {
    const run = await check(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /^lifeline check: .+\nUsage: lifeline check <url>/);
    assert.ok(!run.stderr.includes(SECRET));
  }
  const help = await check(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: lifeline check <url> \[options\]/);
  assert.match(help.stdout, /Exit codes: 0 no warnings, 1 a warning/);
  const version = await check(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^lifeline \(lifeline-net\) \d+\.\d+\.\d+/);
});

test('exit 3, not a hang, for a server that accepts and never answers (each scheme)', {
  timeout: 90_000,
}, async (t) => {
  const silent = net.createServer((socket) => {
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const { port } = silent.address() as net.AddressInfo;
  for (const scheme of ['postgres', 'mysql', 'redis']) {
    const run = await check([`${scheme}://user@127.0.0.1:${port}/db`, '--timeout', '500', '--json']);
    assert.equal(run.code, 3, `${scheme}: ${run.stderr}`);
    const out = JSON.parse(run.stdout) as { error: { code: string } };
    assert.equal(out.error.code, 'LIFELINE_CHECK_UNREACHABLE');
  }
});

test('a driver that is not installed: CheckDriverMissingError naming the package to install', async () => {
  const missing = 'lifeline-no-such-driver';
  await assert.rejects(
    loadDriver('postgres', () => import(missing)),
    (error: unknown) => {
      assert.ok(error instanceof CheckDriverMissingError);
      assert.equal(error.code, 'LIFELINE_CHECK_DRIVER_MISSING');
      assert.equal(
        error.message,
        `checking a postgres:// server needs the package '${missing}', which is not installed: npm install ${missing}`,
      );
      return true;
    },
  );
});
