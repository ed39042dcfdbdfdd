// The pg demo driver's replica mode (`--database-url …?replica=host:port`): the replica's URL, its check, and
// what the replica scenarios' read-your-writes requests send (src/demo/scenarios.ts, REPLICA_SCENARIOS).
import pg from 'pg';
import { upstreamOf } from '../driver.js';

/**
 * With a replica (`?replica=host:port`), a read is the app's read-your-writes request: it writes a row (a
 * negative id, which no audit counts) on the primary and reads it back; missing it is a failed request.
 */
export const ownRowSql = (runId: string, side: string): string =>
  `SELECT 1 FROM lifeline_demo_writes WHERE run_id = '${runId}' AND side = '${side}' AND id = $1`;

export class StaleReadError extends Error {
  constructor() {
    super('stale read: the replica does not have the row this request just wrote');
  }
}

/**
 * `?replica=host:port` in --database-url names the primary's streaming replica (same user, password and
 * database): taken out of the URL the pools get, and made into the replica's own URL.
 */
export function splitReplica(given: string | undefined): {
  url: string | undefined;
  replicaUrl: string | undefined;
} {
  if (given === undefined) return { url: undefined, replicaUrl: undefined };
  const parsed = new URL(given);
  const replica = parsed.searchParams.get('replica');
  if (replica === null) return { url: given, replicaUrl: undefined };
  parsed.searchParams.delete('replica');
  const replicaParsed = new URL(parsed.toString());
  const at = replica.lastIndexOf(':');
  replicaParsed.hostname = at < 0 ? replica : replica.slice(0, at);
  replicaParsed.port = at < 0 ? '5432' : replica.slice(at + 1);
  return { url: parsed.toString(), replicaUrl: replicaParsed.toString() };
}

/** The replica must be a standby that already has the demo's tables (streamed from the primary). */
export async function checkReplica(replicaUrl: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const ready = await withClient(replicaUrl, async (c) => {
      const { rows } = await c.query<{ standby: boolean; tables: boolean }>(
        "SELECT pg_is_in_recovery() AS standby, to_regclass('lifeline_demo_writes') IS NOT NULL AS tables",
      );
      if (rows[0]?.standby !== true) {
        throw new Error(`${upstreamOf(replicaUrl, 5432)} is not a standby (pg_is_in_recovery() is false)`);
      }
      return rows[0]?.tables === true;
    });
    if (ready) return;
    if (Date.now() > end) throw new Error('the replica did not receive the demo tables within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
