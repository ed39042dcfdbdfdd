// Shared by the pg adapter's tests: connection settings for the real server and a pool that records every
// 'error' event, on itself and on each client it lent out.
import pg from 'pg';
import { type LifelinePoolConfig, Pool } from '../../../src/adapters/pg/index.js';
import { services } from '../../support/services.js';

export function connection(): Pick<pg.PoolConfig, 'host' | 'port' | 'user' | 'database'> {
  const { host, port, user, database } = services.postgres;
  return { host, port, user, database };
}

/** The errors each kind of pool emitted: on the pool itself and on any client it lent out. */
export interface ErrorLog {
  pool: Error[];
  client: Error[];
  removed: number;
}

/**
 * A pool with node-postgres's documented idle-error handler installed (recording instead of exiting), plus
 * an 'error' listener on every client it lends. pg.Pool or lifeline's, same config.
 */
export function recordingPool<P extends pg.Pool | Pool>(
  make: (config: LifelinePoolConfig) => P,
  config: LifelinePoolConfig,
): { pool: P; log: ErrorLog } {
  const pool = make({ ...connection(), ...config });
  const log: ErrorLog = { pool: [], client: [], removed: 0 };
  const seen = new WeakSet<object>();
  const emitter = pool as unknown as pg.Pool;
  emitter.on('error', (err) => log.pool.push(err));
  emitter.on('remove', () => log.removed++);
  emitter.on('acquire', (client) => {
    if (seen.has(client)) return;
    seen.add(client);
    client.on('error', (err) => log.client.push(err));
  });
  return { pool, log };
}

export const makePg = (config: LifelinePoolConfig): pg.Pool => new pg.Pool(config);
export const makeLifeline = (config: LifelinePoolConfig): Pool => new Pool(config);

/** Resolves at the pool's next 'remove' event. */
export function removed(pool: pg.Pool | Pool): Promise<void> {
  return new Promise((resolve) => (pool as unknown as pg.Pool).once('remove', () => resolve()));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves at the client's 'end' event (events.once would reject on an 'error' emitted before it). */
export function ended(client: pg.PoolClient | pg.Client): Promise<void> {
  return new Promise((resolve) => client.once('end', () => resolve()));
}
