import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { sql as dsql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Kysely, PostgresDialect, sql } from 'kysely';
import {
  onPrimary,
  type PgHostStats,
  Pool,
  readYourWrites,
  usePrimary,
} from '../../../src/adapters/pg/index.js';
import { PgCluster } from '../../support/pg-cluster.js';
import { requireCapability, requireService, services } from '../../support/services.js';

test('util.inspect(pool) shows no password from the connection string, the config or replicas', async () => {
  const pool = new Pool({
    connectionString: 'postgres://app:hunter2@127.0.0.1:1/db',
    password: 'sekrit',
    lifeline: { connectRetryMs: 0 },
  });
  const replicated = new Pool({
    connectionString: 'postgres://app:hunter2@127.0.0.1:1/db',
    replicas: ['postgres://app:r3plica@127.0.0.1:2/db'],
    lifeline: { replicaCheckIntervalMs: 60_000 },
  });
  try {
    for (const p of [pool, replicated]) {
      const text = inspect(p, { depth: 10 });
      assert.ok(!text.includes('hunter2'), text);
      assert.ok(!text.includes('sekrit'), text);
      assert.ok(!text.includes('r3plica'), text);
      assert.match(text, /postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/db/);
      assert.match(text, /totalCount/);
    }
  } finally {
    await Promise.all([pool.end(), replicated.end()]);
  }
});

test('options: bounds are checked, and a pool with replicas must itself connect to the primary', () => {
  assert.throws(
    () => new Pool({ replicas: ['postgres://u@127.0.0.1:2/db'], lifeline: { maxReplicaLagMs: -1 } }),
    (e: Error) =>
      (e as { code?: string }).code === 'LIFELINE_INVALID_OPTION' && /maxReplicaLagMs/.test(e.message),
  );
  assert.throws(
    () => new Pool({ lifeline: { routeReads: true, replicaCheckIntervalMs: 1 } }),
    /replicaCheckIntervalMs/,
  );
  assert.throws(
    () =>
      new Pool({
        connectionString: 'postgres://u:hunter2@127.0.0.1:1,127.0.0.1:2/db?target_session_attrs=standby',
        lifeline: { routeReads: true },
      }),
    (e: Error) =>
      (e as { code?: string }).code === 'LIFELINE_INVALID_OPTION' &&
      /targetSessionAttrs/.test(e.message) &&
      !e.message.includes('hunter2'),
  );
});

test('allowExitOnIdle: the replica checks do not keep the process alive', { timeout: 60_000 }, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const { host, port, user, database } = services.postgres;
  const index = fileURLToPath(new URL('../../../src/adapters/pg/index.ts', import.meta.url));
  const script = `
    const { Pool } = await import(${JSON.stringify(index)});
    const pool = new Pool({ connectionString: 'postgres://${user}@${host}:${port}/${database}', allowExitOnIdle: true,
      lifeline: { routeReads: true, replicaCheckIntervalMs: 20 } });
    await pool.query('select 1');
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify(pool.stats().replicas.hosts[0].role));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.signal, null, `the process did not exit by itself: ${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), '"primary"');
});

/** Polls `check` every 25 ms until it holds; fails after `ms` (a bound on the wait, not a timing assertion). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function hostOf(pool: Pool, port: number): PgHostStats {
  const found = pool.stats().replicas?.hosts.find((h) => h.host === `127.0.0.1:${port}`);
  assert.ok(found, `no stats for port ${port}`);
  return found;
}

describe('reads on replicas, against a primary and a real streaming replica', () => {
  let primary: PgCluster | undefined;
  let standby: PgCluster | undefined;
  after(() => {
    standby?.destroy();
    primary?.destroy();
  });

  async function clusters(): Promise<{ primary: PgCluster; standby: PgCluster }> {
    if (primary === undefined || standby === undefined) {
      primary = await PgCluster.start();
      primary.psql('select 1');
      standby = await PgCluster.start({ standbyOf: primary });
    }
    return { primary, standby };
  }

  function routedPool(p: PgCluster, s: PgCluster, lifeline: Record<string, unknown> = {}): Pool {
    return new Pool({
      connectionString: `postgres://postgres@127.0.0.1:${p.port},127.0.0.1:${s.port}/test`,
      max: 4,
      lifeline: { routeReads: true, replicaCheckIntervalMs: 50, maxReplicaLagMs: 500, ...lifeline },
    });
  }

  const PORT = 'select inet_server_port() as p';

  test('roles are discovered from a multi-host string: reads go to the replica, writes and forced reads to the primary', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = routedPool(p, s);
    try {
      await pool.query('create table if not exists items (id int primary key, v text)');
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      assert.equal(hostOf(pool, p.port).role, 'primary');
      assert.equal(hostOf(pool, s.port).role, 'replica');
      for (let i = 0; i < 10; i++) assert.equal((await pool.query(PORT)).rows[0].p, s.port);
      assert.ok(hostOf(pool, s.port).readsRouted >= 10);
      const w = await pool.query(
        'insert into items values (1, $1) on conflict (id) do update set v = $1 returning inet_server_port() as p',
        ['a'],
      );
      assert.equal(w.rows[0].p, p.port);
      assert.equal((await pool.query({ text: PORT, primary: true })).rows[0].p, p.port);
      assert.equal((await onPrimary(() => pool.query(PORT))).rows[0].p, p.port);
      // A write taken for a read (nextval) fails read-only on the replica and runs once on the primary.
      await readYourWrites(async () => {
        await pool.query('create sequence if not exists seq');
        // The test clusters run with synchronous_commit = off: the commit reaches the replica within a few
        // wal_writer_delay (200 ms). Waited for here, so that the replica can be caught up.
        await until('the replica replayed the sequence', () => hostOf(pool, s.port).lagBytes === 0);
        const before = hostOf(pool, s.port).fallbacks;
        const n1 = Number((await pool.query("select nextval('seq') as n")).rows[0].n);
        const n2 = Number((await pool.query("select nextval('seq') as n")).rows[0].n);
        assert.equal(n2, n1 + 1);
        // The first went to the caught-up replica, was refused there (25006) and ran once on the primary; that
        // wrote, so the second went straight to the primary (the replica had not replayed it yet).
        assert.equal(hostOf(pool, s.port).fallbacks, before + 1);
      });
    } finally {
      await pool.end();
    }
  });

  test('explicit replicas: a checked-out client reads on the replica until it writes, then on its own session', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = new Pool({
      connectionString: p.url,
      replicas: [s.url],
      max: 2,
      lifeline: { replicaCheckIntervalMs: 50 },
    });
    try {
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      const client = await pool.connect();
      try {
        assert.equal((await client.query(PORT)).rows[0].p, s.port);
        await client.query('begin');
        assert.equal((await client.query(PORT)).rows[0].p, p.port);
        await client.query('commit');
        // The session wrote (begin … commit): its reads stay on it until it is released.
        assert.equal((await client.query(PORT)).rows[0].p, p.port);
      } finally {
        client.release();
      }
      const pinned = usePrimary(await pool.connect());
      try {
        assert.equal((await pinned.query(PORT)).rows[0].p, p.port);
      } finally {
        pinned.release();
      }
      const again = await pool.connect();
      try {
        assert.equal((await again.query(PORT)).rows[0].p, s.port);
      } finally {
        again.release();
      }
    } finally {
      await pool.end();
    }
  });

  test('Kysely and Drizzle, unchanged: reads on the replica, transactions and writes on the primary, own writes seen in a context', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = routedPool(p, s);
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    const orm = drizzle(pool);
    try {
      await pool.query('create table if not exists orm (id int primary key)');
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      const port = async () =>
        Number((await sql<{ p: number }>`select inet_server_port() as p`.execute(db)).rows[0]?.p);
      assert.equal(await port(), s.port);
      const viaDrizzle = await orm.execute(dsql`select inet_server_port() as p`);
      assert.equal(Number(viaDrizzle.rows[0]?.p), s.port);
      const inTx = await db.transaction().execute(async (tx) => {
        await sql`insert into orm values (1) on conflict do nothing`.execute(tx);
        return Number((await sql<{ p: number }>`select inet_server_port() as p`.execute(tx)).rows[0]?.p);
      });
      assert.equal(inTx, p.port);
      for (let i = 10; i < 30; i++) {
        await readYourWrites(async () => {
          await sql`insert into orm values (${i})`.execute(db);
          const seen = await sql`select 1 from orm where id = ${i}`.execute(db);
          assert.equal(seen.rows.length, 1);
          const again = await orm.execute(dsql`select 1 from orm where id = ${i}`);
          assert.equal(again.rows.length, 1);
        });
      }
    } finally {
      await db.destroy();
    }
  });

  test('inside readYourWrites a read after a write always sees it; replay paused, no read goes to the lagging replica', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = routedPool(p, s, { maxReplicaLagMs: 200 });
    let errors = 0;
    try {
      await pool.query('create table if not exists rw (id int primary key)');
      await pool.query('truncate rw');
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      // Read-your-writes with the replica keeping up: every read sees its own write.
      for (let i = 0; i < 60; i++) {
        await readYourWrites(async () => {
          await pool.query('insert into rw values ($1)', [i]);
          const { rowCount } = await pool.query('select 1 from rw where id = $1', [i]);
          assert.equal(rowCount, 1, `write ${i} not seen by the read after it`);
          const viaClient = await pool.connect();
          try {
            assert.equal((await viaClient.query('select 1 from rw where id = $1', [i])).rowCount, 1);
          } finally {
            viaClient.release();
          }
        });
      }
      // Once a check shows the replica past the write, the context's reads go to it too, and see the write.
      let onReplica = 0;
      for (let i = 100; i < 105; i++) {
        await readYourWrites(async () => {
          await pool.query('insert into rw values ($1)', [i]);
          await until('the replica replayed the insert', () => hostOf(pool, s.port).lagBytes === 0);
          const { rows } = await pool.query(
            'select inet_server_port() as p, exists (select 1 from rw where id = $1) as seen',
            [i],
          );
          assert.equal(rows[0].seen, true);
          if (rows[0].p === s.port) onReplica++;
        });
      }
      assert.ok(onReplica > 0, 'no read in a context went to the caught-up replica');
      // Outside any context, reads go to the replica.
      assert.equal((await pool.query(PORT)).rows[0].p, s.port);

      s.psql('select pg_wal_replay_pause()');
      await pool.query('insert into rw values (1000)');
      await until('the paused replica is over the lag bound', () => {
        const h = hostOf(pool, s.port);
        return !h.eligible && (h.lagBytes ?? 0) > 0 && (h.lagMs ?? 0) > 200;
      });
      const before = hostOf(pool, s.port).readsRouted;
      const toPrimary = pool.stats().replicas?.readsToPrimary ?? 0;
      for (let i = 0; i < 40; i++) {
        await readYourWrites(async () => {
          await pool.query('insert into rw values ($1)', [2000 + i]);
          const { rowCount } = await pool.query('select 1 from rw where id = $1', [2000 + i]);
          assert.equal(rowCount, 1);
        });
        const seen = await pool.query('select 1 from rw where id = 1000').catch(() => {
          errors++;
          return undefined;
        });
        assert.equal(seen?.rowCount, 1, 'a read outside any context went to the lagging replica');
      }
      assert.equal(hostOf(pool, s.port).readsRouted, before, 'no read went to the lagging replica');
      assert.ok((pool.stats().replicas?.readsToPrimary ?? 0) >= toPrimary + 80);

      s.psql('select pg_wal_replay_resume()');
      await until('the replica caught up', () => hostOf(pool, s.port).eligible);
      assert.equal((await pool.query(PORT)).rows[0].p, s.port);
      assert.equal(errors, 0);
    } finally {
      await pool.end();
    }
  });

  test('the replica stopped under reads and started again: no read fails, reads come back to it', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = routedPool(p, s);
    let errors = 0;
    let served = 0;
    try {
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      let stop = false;
      const readers = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 2000 && !stop; i++) {
          await pool.query('select count(*) from pg_class').then(
            () => served++,
            () => errors++,
          );
        }
      });
      await until('some reads were served', () => served > 50);
      s.stop('immediate');
      await until('the stopped replica is seen down', () => !hostOf(pool, s.port).up);
      const atDown = served;
      await until('reads go on without it', () => served > atDown + 50);
      s.start();
      await until('the restarted replica takes reads again', () => hostOf(pool, s.port).eligible);
      const routed = hostOf(pool, s.port).readsRouted;
      await until('reads reach the replica again', () => hostOf(pool, s.port).readsRouted > routed + 10);
      stop = true;
      await Promise.all(readers);
      assert.equal(errors, 0);
      assert.ok(hostOf(pool, s.port).readsRouted > 0);
    } finally {
      await pool.end();
    }
  });

  test('the replica promoted after the primary is lost: reads go on without error, then go to the new primary', {
    timeout: 120_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const { primary: p, standby: s } = await clusters();
    const pool = routedPool(p, s);
    let errors = 0;
    let served = 0;
    try {
      await until('the replica takes reads', () => hostOf(pool, s.port).eligible);
      let stop = false;
      const readers = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 2000 && !stop; i++) {
          await pool.query('select count(*) from pg_class').then(
            () => served++,
            () => errors++,
          );
        }
      });
      await until('some reads were served', () => served > 50);
      p.stop('immediate');
      s.promote();
      await until('the promotion is noticed', () => hostOf(pool, s.port).role === 'primary');
      const atPromotion = served;
      await until('reads go on', () => served > atPromotion + 50);
      stop = true;
      await Promise.all(readers);
      assert.equal(errors, 0);
      assert.equal(hostOf(pool, s.port).eligible, false);
      assert.equal((await pool.query(PORT)).rows[0].p, s.port);
      const w = await pool.query('insert into items values (2, $1) returning inet_server_port() as p', ['b']);
      assert.equal(w.rows[0].p, s.port);
    } finally {
      await pool.end();
    }
  });
});

describe('a switchover: the primary demoted to a standby of the promoted replica, on the same address', () => {
  let a: PgCluster | undefined;
  let b: PgCluster | undefined;
  after(() => {
    b?.destroy();
    a?.destroy();
  });

  test('roles follow: reads go to the demoted host, writes to the promoted one, no read fails', {
    timeout: 180_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    a = await PgCluster.start();
    b = await PgCluster.start({ standbyOf: a });
    const pa = a.port;
    const pb = b.port;
    const pool = new Pool({
      connectionString: `postgres://postgres@127.0.0.1:${pa},127.0.0.1:${pb}/test`,
      max: 4,
      lifeline: { routeReads: true, replicaCheckIntervalMs: 50 },
    });
    let errors = 0;
    let served = 0;
    try {
      await pool.query('create table if not exists sw (id int primary key)');
      await until('b takes reads', () => hostOf(pool, pb).eligible);
      let stop = false;
      const readers = Array.from({ length: 2 }, async () => {
        for (let i = 0; i < 5000 && !stop; i++) {
          await pool.query('select count(*) from pg_class').then(
            () => served++,
            () => errors++,
          );
        }
      });
      a.stop('fast');
      b.promote();
      // The old primary rebuilt as a standby of the new one (PgCluster.rebuildAsStandbyOf). Its start used to
      // fail now and then: the base backup brought back a socket lock file naming the old postmaster, still a
      // zombie for a moment after it stopped (test/support/pg-cluster.ts, writeConf). No socket, no lock file.
      a.rebuildAsStandbyOf(b);
      assert.deepEqual(
        readdirSync(a.dataDir).filter((entry) => entry.startsWith('.s.PGSQL.')),
        [],
        'no socket lock file came with the base backup',
      );
      await until('a is seen as a replica, b as the primary', () => {
        const ha = hostOf(pool, pa);
        const hb = hostOf(pool, pb);
        return ha.role === 'replica' && hb.role === 'primary';
      });
      await until('a takes reads', () => hostOf(pool, pa).eligible);
      const atSwitch = served;
      await until('reads go on', () => served > atSwitch + 20);
      stop = true;
      await Promise.all(readers);
      assert.equal(errors, 0);
      assert.equal((await pool.query('select inet_server_port() as p')).rows[0].p, pa);
      const w = await pool.query({
        text: 'insert into sw values (1) returning inet_server_port() as p',
        idempotent: true,
      });
      assert.equal(w.rows[0].p, pb);
    } finally {
      await pool.end();
    }
  });
});
