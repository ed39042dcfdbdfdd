import { sqlState } from '../../protocols/postgres.js';
import { PgConnectError, PgNoHostError, PgUnsupportedClientError } from './errors.js';
import { PgConfigError } from './hosts.js';

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

/**
 * The pool's record of failing connects, deciding when the callers waiting for a client get the failure:
 * at once for one retrying cannot fix, else once a run of failures has lasted `retryMs`. A run is failures one
 * after another; a gap longer than `gapMs` (the backoff ceiling plus the time one attempt may take) means
 * nobody was trying, and the next failure starts a new run with a new window. Once given up, new callers get
 * the same failure at once for `holdMs` (until the pool's next attempt is due).
 */
export class ConnectFailures {
  private failingSince: number | undefined;
  private lastFailureAt = 0;
  private gaveUp: PgConnectError | undefined;
  private gaveUpUntil = 0;

  constructor(
    private readonly retryMs: number,
    private readonly gapMs: number,
    private readonly holdMs: number,
  ) {}

  /** A connect succeeded: the run is over. */
  succeeded(): void {
    this.failingSince = undefined;
    this.gaveUp = undefined;
  }

  /** A connect failed: the error to hand to every waiting caller, or undefined to ride the failure out. */
  failed(error: unknown): PgConnectError | undefined {
    const now = Date.now();
    if (this.failingSince === undefined || now - this.lastFailureAt > this.gapMs) this.failingSince = now;
    this.lastFailureAt = now;
    const final = isFinalConnectError(error);
    const failingForMs = now - this.failingSince;
    if (!final && failingForMs < this.retryMs) return undefined;
    this.gaveUp = new PgConnectError(error, final, failingForMs);
    this.gaveUpUntil = now + this.holdMs;
    return this.gaveUp;
  }

  /** The failure a new caller gets at once, while it holds; undefined (no clock read) when connects are fine. */
  current(): PgConnectError | undefined {
    return this.gaveUp !== undefined && Date.now() < this.gaveUpUntil ? this.gaveUp : undefined;
  }
}
