import net from 'node:net';
import pg from 'pg';
import type { Attempt } from '../../src/index.js';
import { services } from '../support/services.js';

export interface Address {
  host: string;
  port: number;
}

/**
 * Runs `work` on a fresh pg.Client to `address`, the way an adapter would inside execute(): the socket
 * dies when the attempt's signal aborts, markSent() is called right before the statement is written, and
 * the client is always closed.
 */
export async function withClient<T>(
  attempt: Attempt,
  address: Address,
  work: (client: pg.Client, attempt: Attempt) => Promise<T>,
): Promise<T> {
  let socket: net.Socket | undefined;
  const client = new pg.Client({
    host: address.host,
    port: address.port,
    user: services.postgres.user,
    database: services.postgres.database,
    stream: () => {
      socket = new net.Socket();
      return socket;
    },
  });
  // Errors arrive through the query's rejection; without a listener a late one would crash the process.
  client.on('error', () => {});
  const kill = () => socket?.destroy();
  const { signal } = attempt;
  if (signal.aborted) throw signal.reason;
  signal.addEventListener('abort', kill, { once: true });
  try {
    await client.connect();
    return await work(client, attempt);
  } finally {
    signal.removeEventListener('abort', kill);
    socket?.destroy();
  }
}

/** A query sent by the attempt: markSent() first, since the bytes may leave with this call. */
export async function sentQuery<R extends pg.QueryResultRow>(
  client: pg.Client,
  attempt: Attempt,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  attempt.markSent();
  return client.query<R>(text, values);
}

/** A plain connection for setup and checks, outside execute(). */
export async function admin<T>(address: Address, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: address.host,
    port: address.port,
    user: services.postgres.user,
    database: services.postgres.database,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}
