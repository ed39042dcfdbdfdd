// The demo's two tables, created on whatever server the demo runs against, and the post-mortem that
// counts lost and doubled writes. These run on a direct connection (not through a fault proxy): they are
// the ground truth, not part of the experiment.

import pg from 'pg';
import { ITEMS, readSql } from './workload.js';

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

export async function prepareDatabase(url: string): Promise<void> {
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
export async function warmUp(url: string): Promise<void> {
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

export interface WriteAudit {
  lost: number;
  doubled: number;
}

/** Compares what the application was told (acknowledged ids) with what the table holds. */
export async function auditWrites(
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
export async function cleanupWrites(url: string, runId: string): Promise<void> {
  await withClient(url, (client) =>
    client.query("DELETE FROM lifeline_demo_writes WHERE run_id LIKE $1 || '-%'", [runId]),
  );
}
