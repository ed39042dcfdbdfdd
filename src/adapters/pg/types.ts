import type { PoolClient as PgPoolClient } from 'pg';
import type { Pool } from './pool.js';

/**
 * A client lent by a lifeline-net/pg Pool: a pg.PoolClient (the same pg.Client object, with its query
 * routed through lifeline's deadlines and error meanings) whose `query` takes the pool's overloads, so a
 * config may carry `deadlineMs` (and `idempotent`, which a checked-out client ignores: it never retries).
 * Assignable wherever pg.PoolClient is expected.
 */
export interface PoolClient extends Omit<PgPoolClient, 'query'> {
  query: Pool['query'];
}
