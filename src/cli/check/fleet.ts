// Fleet arithmetic for `lifeline check --instances N --pool-max M`: do N processes with M connections each
// fit what the server gives applications (its limit minus reserved slots)? When they do not, the answer is
// a multiplexer that already exists (PgBouncer in transaction mode for Postgres), not a bigger limit and not
// one lifeline would grow.

import type { ConnectionLimit, Finding, Fleet, Kind } from './types.js';

/** The share of available connections past which a fleet that fits still gets an 'info' finding. */
const TIGHT = 0.8;

const MULTIPLEXER: Record<Kind, string> = {
  postgres:
    "Put PgBouncer in transaction mode between the fleet and Postgres (default_pool_size sized to the server, lifeline-net/pg with lifeline: { pooler: 'transaction' }). Transaction mode gives a server connection per transaction, so it forbids session state: SET (use SET LOCAL), LISTEN, session advisory locks, WITH HOLD cursors, SQL PREPARE, temporary tables kept across transactions; protocol-level prepared statements need max_prepared_statements > 0 (PgBouncer 1.21+)",
  pgbouncer:
    'Raise max_client_conn (PgBouncer holds each client connection cheaply; the server side stays at default_pool_size per database/user), or lower --pool-max',
  mysql:
    'Put ProxySQL (connection multiplexing) between the fleet and the server; it stops multiplexing a connection that holds session state (user variables, temporary tables, GET_LOCK, an open transaction), so keep sessions stateless. Or lower the pool size per instance',
  redis:
    'One Redis connection serves a whole process (commands pipeline on it): use one per instance plus one per subscriber, or raise maxclients (bounded by the open-file limit)',
};

export function fleetOf(instances: number, poolMax: number, limit: ConnectionLimit): Fleet {
  const total = instances * poolMax;
  return {
    instances,
    poolMax,
    total,
    available: limit.available,
    fits: total <= limit.available,
    headroom: limit.available - total,
  };
}

export function fleetFindings(fleet: Fleet, limit: ConnectionLimit, kind: Kind): Finding[] {
  const arithmetic = `${fleet.instances} instances × ${fleet.poolMax} connections = ${fleet.total}; the server gives applications ${fleet.available} (${limit.setting} ${limit.max}${limit.reserved ? ` − ${limit.reserved} reserved` : ''})`;
  if (!fleet.fits) {
    return [
      {
        level: 'warn',
        code: 'fleet.over-limit',
        message: `${arithmetic}: ${-fleet.headroom} too many. ${MULTIPLEXER[kind]}`,
      },
    ];
  }
  if (fleet.total > fleet.available * TIGHT) {
    return [
      {
        level: 'info',
        code: 'fleet.tight',
        message: `${arithmetic}: it fits with ${fleet.headroom} to spare, which a deploy (old and new instances at once) or an admin session can use up`,
      },
    ];
  }
  return [
    { level: 'info', code: 'fleet.fits', message: `${arithmetic}: it fits with ${fleet.headroom} to spare` },
  ];
}
