// The demo's Postgres driver: everything `lifeline demo --driver pg` (the default) knows about Postgres.
// The target is an embedded PGlite (pglite.ts) or the server at --url; the workload is an indexed SELECT
// by primary key and an INSERT with a unique id; writes are counted on a direct connection after the run.
//
// The two sides run the same application code:
//
// naive: pg.Pool as most services run it — the defaults, plus the one thing everybody learns the hard
// way: an 'error' listener, because without it an idle client's death is an uncaught 'error' event that
// crashes the process (we count each one). Its app code retries a failed write twice, the usual
// hand-written loop ("a half-dozen retries and it completes", incident 3).
//
// lifeline: lifeline-net/pg's Pool configured as the docs tell a user to: short keepalive and user timeout,
// a deadline on every query. Reads are sent unannotated, as an ORM sends them: safe reads (docs/pg.md) run
// them on read-only sessions, so a read on a connection that died is re-run on another, and reply
// verification ends a read stuck behind a proxy that swallowed it. Writes are not re-sent when their outcome
// is unknown (reported, never silently doubled). A server that cannot offer read-only sessions per
// connection (the embedded PGlite shares one session among connections) gets its reads declared idempotent
// instead, the one annotation a user would add there.

import pg from 'pg';
import { capabilitiesOf, DeadlineExceededError, Pool, readYourWrites } from '../../adapters/pg/index.js';
import { redact } from '../../core/errors.js';
import { type Classification, type ExecuteOptions, execute } from '../../exec/index.js';
import { classifyPostgres } from '../../protocols/index.js';
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
import { CauseCounts, countExecRetries, deathCause, poolSample } from '../metrics.js';
import { REPLICA_SCENARIOS, SCENARIOS, STUCK_PROXY, setReplicaControl } from '../scenarios.js';
import { ITEMS } from '../workload.js';
import { checkReplica, ownRowSql, StaleReadError, splitReplica } from './pg-replica.js';
import { startEmbeddedPostgres } from './pglite.js';

const readSql = (key: number): string => `SELECT id, name FROM lifeline_demo_items WHERE id = ${key}`;

const writeSql = (runId: string, side: string, id: number): string =>
  `INSERT INTO lifeline_demo_writes (run_id, side, id) VALUES ('${runId}', '${side}', ${id})`;

const NAIVE_WRITE_ATTEMPTS = 3;

/**
 * naive: with a replica, the home-made layer most services have: a second pg.Pool on the replica for reads,
 * writes on the primary.
 */
function naiveSide(url: string, options: SideOptions, replica?: { primary: string }): Side {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize });
  pool.on('error', () => options.onErrorEvent());
  const primary =
    replica === undefined ? pool : new pg.Pool({ connectionString: replica.primary, max: options.poolSize });
  if (primary !== pool) primary.on('error', () => options.onErrorEvent());
  let own = 0;
  // For the report's pool charts: pg.Pool drops a client released with an error, and an idle one that errs.
  const deaths = new CauseCounts();
  let retries = 0;
  pool.on('release', (error) => {
    if (error) deaths.add(deathCause(error));
  });
  pool.on('error', (error) => deaths.add(`idle ${deathCause(error)}`));
  return {
    name: 'naive',
    maxOpMs: undefined,
    app: {
      async read(key) {
        if (primary !== pool) {
          const id = -++own;
          await primary.query(writeSql(options.runId, 'naive', id));
          const seen = await pool.query(ownRowSql(options.runId, 'naive'), [id]);
          if (seen.rowCount === 0) throw new StaleReadError();
          return;
        }
        await pool.query(readSql(key));
      },
      async write(id) {
        const sql = writeSql(options.runId, 'naive', id);
        for (let attempt = 1; ; attempt++) {
          try {
            await primary.query(sql);
            return;
          } catch (error) {
            if (attempt >= NAIVE_WRITE_ATTEMPTS) throw error;
            retries++;
          }
        }
      },
    },
    close: () => Promise.all([pool.end(), primary === pool ? undefined : primary.end()]).then(() => {}),
    poolSample: () => ({
      used: pool.totalCount - pool.idleCount,
      idle: pool.idleCount,
      pending: pool.waitingCount,
      deaths: deaths.counts,
      retries,
    }),
  };
}

/**
 * For an idempotent read, an attempt that hit its own deadline (the per-query deadlineMs) is just another
 * outcome-unknown, worth another try within the read's deadline. Everything else is classifyPostgres's:
 * a connection lost before or after sending, and an acquire that timed out, are in the shared
 * connection-lost vocabulary it honours.
 */
function classifyRead(error: unknown, sent: boolean): Classification {
  if (error instanceof DeadlineExceededError) return { kind: 'outcome-unknown' };
  return classifyPostgres(error, sent);
}

/** lifeline: with a replica, one Pool on the primary with the replica as `replicas`, reads in readYourWrites. */
function lifelineSide(url: string, options: SideOptions, replica?: { primary: string }): Side {
  const retries = countExecRetries();
  // No 'error' listener: lifeline-net/pg never turns a connection's death into an uncaught event.
  const pool = new Pool({
    connectionString: replica === undefined ? url : replica.primary,
    replicas: replica === undefined ? undefined : [url],
    max: options.poolSize,
    lifeline: {
      // With a replica: checked every 50 ms, out of the readers when it lags 250 ms behind.
      replicaCheckIntervalMs: 50,
      maxReplicaLagMs: 250,
      // Writes: one deadline for the statement, retried only when it was never sent.
      queryDeadlineMs: options.queryDeadlineMs,
      // PGlite ignores CancelRequest; don't keep a connection whose query timed out waiting for one.
      cancelTimeoutMs: 200,
      connectTimeoutMs: options.attemptDeadlineMs,
      keepaliveIdleMs: 1000,
      keepaliveIntervalMs: 1000,
      keepaliveCount: 3,
      userTimeoutMs: 3000,
      // A reply silent this long is checked with the server (stuck-proxy), well inside the query deadline.
      verifyAfterMs: Math.max(200, Math.floor(options.queryDeadlineMs / 4)),
    },
  });
  // Reads where the server cannot make them safe (PGlite): each attempt gets a short deadline of its own,
  // and the read as a whole is retried inside a longer one, so a read survives an outage shorter than that.
  const annotatedReads: ExecuteOptions = {
    deadlineMs: options.queryDeadlineMs,
    idempotent: true,
    retry: { maxAttempts: 20, baseDelayMs: 25, maxDelayMs: 200 },
    classify: classifyRead,
  };
  // Whether this server gives safe reads (capabilitiesOf), learned from two connections open at once: a
  // server that shares one session among connections shows it only then.
  let safeReads: Promise<boolean> | undefined;
  const canReadSafely = (): Promise<boolean> => {
    safeReads ??= Promise.all([pool.connect(), pool.connect()]).then(
      (clients) => {
        const safe = clients.every((client) => capabilitiesOf(client).safeReads);
        for (const client of clients) client.release();
        return safe;
      },
      () => {
        safeReads = undefined;
        return false;
      },
    );
    return safeReads;
  };
  let own = 0;
  return {
    name: 'lifeline',
    maxOpMs: options.queryDeadlineMs,
    app: {
      async read(key) {
        if (replica !== undefined) {
          const id = -++own;
          await readYourWrites(async () => {
            await pool.query(writeSql(options.runId, 'lifeline', id));
            const seen = await pool.query(ownRowSql(options.runId, 'lifeline'), [id]);
            if (seen.rowCount === 0) throw new StaleReadError();
          });
          return;
        }
        if (await canReadSafely()) {
          // As an ORM sends it: no annotation.
          await pool.query(readSql(key));
          return;
        }
        await execute(
          () => pool.query({ text: readSql(key), idempotent: true, deadlineMs: options.attemptDeadlineMs }),
          annotatedReads,
        );
      },
      async write(id) {
        await pool.query(writeSql(options.runId, 'lifeline', id));
      },
    },
    close: () => {
      retries.stop();
      return pool.end();
    },
    poolSample: () => poolSample(pool.stats(), retries.count),
  };
}

// The ground truth runs on a direct connection (not through a fault proxy): it is not part of the experiment.

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A dying direct connection must surface as a rejected query, not an uncaught 'error' event.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function prepareDatabase(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      'CREATE TABLE IF NOT EXISTS lifeline_demo_items (id integer PRIMARY KEY, name text NOT NULL)',
    );
    await client.query(
      `INSERT INTO lifeline_demo_items (id, name) SELECT i, 'item ' || i FROM generate_series(1, ${ITEMS}) AS i ON CONFLICT (id) DO NOTHING`,
    );
    // Deliberately no unique key on id: a write applied twice must show up as two rows, not as an error.
    await client.query(
      'CREATE TABLE IF NOT EXISTS lifeline_demo_writes (run_id text NOT NULL, side text NOT NULL, id integer NOT NULL)',
    );
  });
}

/**
 * A few hundred reads before the first scenario, so the baseline doesn't pay for a cold database
 * (PGlite's WebAssembly is still being optimised during its first thousand queries or so).
 */
async function warmUp(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  try {
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        for (let i = 0; i < 150; i++) await pool.query(readSql(1 + ((worker * 150 + i) % ITEMS)));
      }),
    );
  } finally {
    await pool.end();
  }
}

/** Compares what the application was told (acknowledged ids) with what the table holds. */
async function auditWrites(
  url: string,
  runId: string,
  side: string,
  acknowledged: ReadonlySet<number>,
): Promise<WriteAudit> {
  return withClient(url, async (client) => {
    const result = await client.query<{ id: number; n: string }>(
      'SELECT id, count(*) AS n FROM lifeline_demo_writes WHERE run_id = $1 AND side = $2 GROUP BY id',
      [runId, side],
    );
    const present = new Map(result.rows.map((row) => [row.id, Number(row.n)]));
    let lost = 0;
    for (const id of acknowledged) if (!present.has(id)) lost++;
    let doubled = 0;
    for (const n of present.values()) if (n > 1) doubled++;
    return { lost, doubled };
  });
}

/** Removes this run's rows (every scenario's run id starts with it); the tables stay, another run may use them. */
async function cleanupWrites(url: string, runId: string): Promise<void> {
  await withClient(url, (client) =>
    client.query("DELETE FROM lifeline_demo_writes WHERE run_id LIKE $1 || '-%'", [runId]),
  );
}

const SETUP_HTML = `<b>pg.Pool</b> runs as most services run it: defaults plus an <code>'error'</code> listener (without one, each
<code>'error'</code> event counted below would have crashed the process), and a retry loop around writes.
<b>lifeline-net/pg</b> is configured as its docs recommend: keepalive and user timeout, a deadline on every query;
its reads are sent unannotated, as an ORM sends them (safe reads and reply verification protect them; on the embedded
PGlite, which shares one session among connections, they are declared idempotent instead).`;

export const pgDriver: DemoDriver = {
  name: 'pg',
  labels: {
    naive: 'pg.Pool',
    lifeline: 'lifeline-net/pg',
    read: 'indexed SELECTs',
    write: 'INSERTs with unique ids',
    setupHtml: SETUP_HTML,
  },
  scenarios: [...SCENARIOS, STUCK_PROXY, ...REPLICA_SCENARIOS],
  urlExample: 'postgres://user:pass@host:5432/db',
  defaultTarget: 'an embedded Postgres (PGlite)',
  checkUrl: (url) => checkServerUrl(url, ['postgres:', 'postgresql:']),
  async start({ url: given, onProgress }): Promise<DemoTarget> {
    let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
    const { url, replicaUrl } = splitReplica(given);
    let description = url === undefined ? '' : redact(url);
    if (replicaUrl !== undefined)
      description += ` with the streaming replica ${upstreamOf(replicaUrl, 5432)}`;
    if (url === undefined) {
      onProgress('starting embedded Postgres (PGlite over TCP)…');
      embedded = await startEmbeddedPostgres();
      description = 'embedded PGlite over TCP (@electric-sql/pglite-socket)';
    }
    const databaseUrl = embedded?.url ?? (url as string);
    try {
      await prepareDatabase(databaseUrl);
      await warmUp(databaseUrl);
      if (replicaUrl !== undefined) await checkReplica(replicaUrl);
    } catch (error) {
      await embedded?.stop();
      throw serverProblem(
        `database at ${redact(databaseUrl)}`,
        error,
        'Check that it is running and that --database-url is right, or leave --database-url out to use the embedded Postgres',
      );
    }
    if (replicaUrl !== undefined) {
      setReplicaControl({
        pauseReplay: () =>
          withClient(replicaUrl, (c) => c.query('SELECT pg_wal_replay_pause()')).then(() => {}),
        resumeReplay: () =>
          withClient(replicaUrl, (c) => c.query('SELECT pg_wal_replay_resume()')).then(() => {}),
      });
    }
    // With a replica the fault proxies stand in front of it: the primary is reached directly.
    const faulted = replicaUrl ?? databaseUrl;
    const replica = replicaUrl === undefined ? undefined : { primary: databaseUrl };
    return {
      description,
      upstream: upstreamOf(faulted, 5432),
      side(name, options) {
        const through = throughProxy(faulted, options.proxy);
        return name === 'naive'
          ? naiveSide(through, options, replica)
          : lifelineSide(through, options, replica);
      },
      auditWrites: (runId, side, acknowledged) => auditWrites(databaseUrl, runId, side, acknowledged),
      cleanup: async (runId) => {
        if (embedded === undefined) await cleanupWrites(databaseUrl, runId);
      },
      stop: async () => {
        if (replicaUrl !== undefined) {
          setReplicaControl(undefined);
          await withClient(replicaUrl, (c) => c.query('SELECT pg_wal_replay_resume()')).catch(() => {});
        }
        await embedded?.stop().catch(() => {});
      },
    };
  },
};
