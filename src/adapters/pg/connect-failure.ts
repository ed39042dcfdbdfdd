import { PgNoHostError, PgUnsupportedClientError } from './errors.js';
import { PgConfigError } from './hosts.js';
import { sqlState } from './sqlstate.js';

// Node's codes for a TLS setup that will fail the same way every time (certificate, protocol, host name).
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;
// pg's own messages for a configuration it refuses before or during startup.
const PG_CONFIG_MESSAGE =
  /^(SASL: |The server does not support SSL connections|Server does not support SSL|self[- ]signed certificate)|client password must be a string/i;

/**
 * Whether a failed connect is one that retrying cannot fix: the callers waiting for a client get it at once
 * instead of waiting out a retry window. Server refusals by SQLSTATE: class 28 (invalid authorization: wrong
 * password, no pg_hba entry), 3D000 (database does not exist), 42501 (no CONNECT privilege); an unknown host
 * (ENOTFOUND; EAI_AGAIN is a DNS hiccup and is retried); TLS errors; bad options (TypeError, RangeError,
 * PgConfigError); a Client class lifeline cannot watch. Everything else — refused, reset, timed out, 57P03
 * "the database system is starting up", 53300 too many connections — is transient and retried.
 */
export function isFinalConnectError(error: unknown): boolean {
  if (error instanceof PgNoHostError) return isFinalConnectError(error.cause);
  if (error instanceof PgUnsupportedClientError || error instanceof PgConfigError) return true;
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('28') || state === '3D000' || state === '42501';
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code === 'ENOTFOUND' || TLS_CODE.test(code))) return true;
  return typeof message === 'string' && PG_CONFIG_MESSAGE.test(message);
}
