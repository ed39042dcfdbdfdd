// A connection the pool closes on purpose (idle timeout, release(true)/release(err), end(), lifetime, maxUses)
// is no error: node-postgres's documented handler — pool.on('error', … process.exit(-1)) — must never fire
// for it. Each path runs on pg.Pool and on lifeline's Pool side by side; both must see what pg.Pool shows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { LifelinePoolConfig } from '../../../src/adapters/pg/index.js';
import { requireService } from '../../support/services.js';
import { admin } from './core.js';
import { type ErrorLog, ended, makeLifeline, makePg, recordingPool, removed } from './support.js';

// lifeline's Pool extends pg.Pool (a union of the two would not resolve pool.query's overloads).
type AnyPool = pg.Pool;

interface Path {
  name: string;
  config: LifelinePoolConfig;
  /** Makes the pool close one connection on purpose; resolves once that connection has ended. */
  run(pool: AnyPool): Promise<void>;
}

/** Checks out a client, hands it to `give`, and waits until the pool removed it and its connection ended. */
async function closedBy(pool: AnyPool, give: (client: pg.PoolClient) => unknown): Promise<void> {
  const client = await pool.connect();
  const gone = Promise.all([removed(pool), ended(client)]);
  await give(client);
  await gone;
  // Anything emitted on the way out (an 'end' handler, a socket close) has landed after one more turn.
  await new Promise((r) => setImmediate(r));
}

const PATHS: Path[] = [
  { name: 'idle timeout', config: { idleTimeoutMillis: 30 }, run: (p) => closedBy(p, (c) => c.release()) },
  { name: 'release(true)', config: {}, run: (p) => closedBy(p, (c) => c.release(true)) },
  { name: 'release(err)', config: {}, run: (p) => closedBy(p, (c) => c.release(new Error('app gave up'))) },
  { name: 'maxUses', config: { maxUses: 1 }, run: (p) => closedBy(p, (c) => c.release()) },
  {
    name: 'maxLifetimeSeconds, idle',
    config: { maxLifetimeSeconds: 1, lifeline: { lifetimeJitter: 0 } },
    run: (p) => closedBy(p, (c) => c.release()),
  },
  {
    name: 'maxLifetimeSeconds, retired on release',
    config: { maxLifetimeSeconds: 1, lifeline: { lifetimeJitter: 0 } },
    run: (p) =>
      closedBy(p, async (c) => {
        await c.query('select pg_sleep(1.2)');
        c.release();
      }),
  },
  {
    name: 'end()',
    config: {},
    run: async (p) => {
      const client = await p.connect();
      const gone = ended(client);
      client.release();
      await p.end();
      await gone;
      await new Promise((r) => setImmediate(r));
    },
  },
];

async function observe(make: typeof makePg | typeof makeLifeline, path: Path): Promise<ErrorLog> {
  const { pool, log } = recordingPool<AnyPool>(make, { max: 2, ...path.config });
  await path.run(pool);
  if (!pool.ending) await pool.end();
  return log;
}

describe("a connection closed on purpose is no 'error'", () => {
  for (const path of PATHS) {
    test(path.name, { timeout: 20_000 }, async (t) => {
      if (!(await requireService(t, 'postgres'))) return;
      const [theirs, ours] = await Promise.all([observe(makePg, path), observe(makeLifeline, path)]);
      assert.deepEqual(theirs.pool, [], 'pg.Pool itself emits no error here');
      assert.deepEqual(ours.pool.map(String), [], "lifeline's Pool emitted 'error'");
      assert.deepEqual(ours.client.map(String), [], "a lifeline client emitted 'error'");
      assert.ok(ours.removed >= 1, "'remove' tells the connection left, as on pg.Pool");
      assert.ok(theirs.removed >= 1);
    });
  }

  test('a connection closed to stop a query past its deadline (no cancel key) is no error', {
    timeout: 20_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    // A server (or pooler) that sends no BackendKeyData: no CancelRequest is possible, so lifeline closes the
    // connection to stop the statement. pg assigns processID on the client; this one drops it.
    class NoCancelKey extends pg.Client {
      get processID(): undefined {
        return undefined;
      }
      set processID(_: unknown) {}
    }
    const { pool, log } = recordingPool(makeLifeline, {
      max: 1,
      Client: NoCancelKey,
      lifeline: { queryDeadlineMs: 200 },
    });
    const gone = removed(pool);
    await assert.rejects(pool.query('select pg_sleep(10)'), { code: 'LIFELINE_DEADLINE_EXCEEDED' });
    await gone;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await pool.query('select 1 as n')).rows[0].n, 1);
    await pool.end();
    assert.deepEqual(log.pool.map(String), []);
    assert.deepEqual(log.client.map(String), []);
  });

  test('an idle connection killed by the server: one error, with err.client, then its eviction is quiet', {
    timeout: 20_000,
  }, async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const observe = async (make: typeof makePg | typeof makeLifeline) => {
      const { pool, log } = recordingPool<AnyPool>(make, { max: 1 });
      const client = await pool.connect();
      const pid = (client as unknown as { processID: number }).processID;
      const gone = Promise.all([removed(pool), ended(client)]);
      client.release();
      const a = admin();
      await a.connect();
      await a.query('select pg_terminate_backend($1)', [pid]);
      await a.end();
      await gone;
      await new Promise((r) => setTimeout(r, 50));
      // Whatever comes after: a new connection, then the pool's end, all quiet.
      await pool.query('select 1');
      await pool.end();
      return { log, client };
    };
    const theirs = await observe(makePg);
    const ours = await observe(makeLifeline);
    assert.equal(theirs.log.pool.length, 1, 'pg.Pool emits the idle death once');
    assert.equal(ours.log.pool.length, 1, 'lifeline emits the idle death once');
    assert.equal((ours.log.pool[0] as Error & { client?: unknown }).client, ours.client, 'err.client');
    assert.equal((theirs.log.pool[0] as Error & { client?: unknown }).client, theirs.client);
  });
});

test("with node-postgres's documented handler (process.exit(-1)), an app that goes idle keeps running", {
  timeout: 30_000,
}, async (t) => {
  if (!(await requireService(t, 'postgres'))) return;
  const fixture = fileURLToPath(new URL('./fixtures/idle-app.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  assert.match(out, /idle client removed\n[\s\S]*finished by itself/);
  assert.doesNotMatch(out, /Unexpected error on idle client/);
});
