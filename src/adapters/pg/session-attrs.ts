import type { ClientBase } from 'pg';
import type { TargetSessionAttrs } from './hosts.js';

/** What a server is, as far as target_session_attrs cares. */
export interface ServerRole {
  readonly standby: boolean;
  readonly readOnly: boolean;
}

/**
 * Asks the server what it is, as libpq does for target_session_attrs. One round trip per new connection,
 * skipped for `any`. Works through PgBouncer, which forwards both functions to the server.
 */
export async function serverRole(client: ClientBase): Promise<ServerRole> {
  const { rows } = await client.query<{ standby: boolean; ro: string }>(
    "select pg_is_in_recovery() as standby, current_setting('transaction_read_only') as ro",
  );
  const row = rows[0];
  return { standby: row?.standby === true, readOnly: row?.ro === 'on' };
}

/** `prefer-standby` accepts anything on its second pass; the first pass wants a standby. */
export function roleMatches(target: TargetSessionAttrs, role: ServerRole, lastPass: boolean): boolean {
  switch (target) {
    case 'any':
      return true;
    case 'read-write':
      return !role.readOnly;
    case 'read-only':
      return role.readOnly;
    case 'primary':
      return !role.standby;
    case 'standby':
      return role.standby;
    case 'prefer-standby':
      return role.standby || lastPass;
  }
}
