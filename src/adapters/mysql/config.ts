// lifeline-net/mysql's reading of a mysql2 pool config: mysql2's own ConnectionConfig and PoolConfig rules,
// plus the checks mysql2 leaves to connect or query time (a bad port, a user that is not a string, a
// queryFormat that is not a function…), so createPool returns a pool that works or throws
// InvalidOptionError naming the option — never a TypeError, a crash or a hang later.
import tls from 'node:tls';
import mysql from 'mysql2';
import { InvalidOptionError, MAX_TIMER_MS } from '../../core/options.js';
import { MAX_POOL_SIZE } from '../../pool/options.js';

const OWNER = 'lifeline-net/mysql createPool';

/** mysql2's ConnectionConfig (exported at run time, missing from its typings). */
export const ConnectionConfig = (mysql as unknown as { ConnectionConfig: ConnectionConfigClass })
  .ConnectionConfig;
interface ConnectionConfigClass {
  new (options: object): Record<string, unknown>;
  parseUrl(url: string): Record<string, unknown>;
}

/** The pool config as lifeline uses it. */
export interface PoolConfigRead {
  connectionConfig: Record<string, unknown>;
  /** mysql2's connectionLimit (0: no limit). */
  connectionLimit: number;
  /** The core pool's max: connectionLimit, or MAX_POOL_SIZE for 0. */
  max: number;
  queueLimit: number;
  waitForConnections: boolean;
  /**
   * The core pool's idleTimeoutMs: mysql2's idleTimeout when maxIdle < connectionLimit (mysql2 runs its idle
   * sweep only then), else 0 (off).
   */
  idleTimeoutMs: number;
  /** mysql2's maxIdle and idleTimeout, as its PoolConfig reads them. */
  maxIdle: number;
  idleTimeout: number;
  /** The core pool's maxIdle: idle connections above it close at the next sweep (mysql2's maxIdle). */
  coreMaxIdle: number;
  /** mysql2's resetOnRelease: COM_RESET_CONNECTION before a lent connection goes back to the pool. */
  resetOnRelease: boolean;
  /** The core pool's createTimeoutMs: mysql2's connectTimeout plus a second (Infinity when it has none). */
  createTimeoutMs: number;
  /** The `lifeline` object, unchecked. */
  lifeline: unknown;
}

// Values shown in messages for options that hold secrets.
const SECRET = new Set(['password', 'password1', 'password2', 'password3', 'passwordSha1', 'uri']);

function invalid(option: string, requirement: string, got: unknown, cause?: unknown): InvalidOptionError {
  const shown = SECRET.has(option) ? `(a ${typeof got})` : got;
  return new InvalidOptionError(
    OWNER,
    option,
    requirement,
    shown,
    cause === undefined ? undefined : { cause },
  );
}

/** mysql2's `isNaN(x) ? fallback : Number(x)` (PoolConfig), checked: a number ≥ 0, an integer when asked. */
function poolNumber(
  options: Record<string, unknown>,
  key: string,
  fallback: number,
  integer: boolean,
): number {
  const raw = options[key];
  let value: number;
  try {
    // biome-ignore lint/suspicious/noGlobalIsNan: mysql2's own coercing test, so the same values mean the same.
    value = isNaN(raw as number) ? fallback : Number(raw);
  } catch (error) {
    // A Symbol, a BigInt or an object whose conversion throws.
    throw invalid(key, integer ? 'must be an integer ≥ 0' : 'must be a number ≥ 0', raw, error);
  }
  if (!(value >= 0) || (integer && !Number.isInteger(value))) {
    throw invalid(key, integer ? 'must be an integer ≥ 0' : 'must be a number ≥ 0', raw);
  }
  return value;
}

const STRING_OPTIONS = ['user', 'password', 'password1', 'password2', 'password3', 'database', 'socketPath'];
const FUNCTION_OPTIONS = ['queryFormat', 'infileStreamFactory', 'authSwitchHandler'];

/**
 * Reads `options` as mysql2's createPool does (an object or a URL), then checks what mysql2 would only trip
 * over later. Throws InvalidOptionError naming the option; the cause is mysql2's own error when it threw.
 */
export function readPoolConfig(options: unknown): PoolConfigRead {
  let parsed: unknown = options;
  if (typeof options === 'string') {
    try {
      parsed = ConnectionConfig.parseUrl(options);
    } catch (error) {
      throw invalid('config', 'must be a mysql:// URL or an object', '(not a URL)', error);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('config', 'must be an object or a URL', options);
  }
  const { lifeline, ...rest } = parsed as Record<string, unknown>;
  if (rest.isServer)
    throw invalid('isServer', 'must not be set: a pool opens client connections', rest.isServer);
  if (rest.stream !== undefined) {
    throw invalid(
      'stream',
      'is not supported: lifeline-net/mysql watches the TCP socket it opens itself (host/port or socketPath)',
      rest.stream,
    );
  }
  for (const key of STRING_OPTIONS) {
    const v = rest[key];
    if (v !== undefined && v !== null && typeof v !== 'string') throw invalid(key, 'must be a string', v);
  }
  for (const key of FUNCTION_OPTIONS) {
    const v = rest[key];
    if (v !== undefined && v !== null && typeof v !== 'function') throw invalid(key, 'must be a function', v);
  }
  const connectionConfig = connectionConfigOf(rest);
  checkConnection(rest, connectionConfig);
  const connectionLimit = poolNumber(rest, 'connectionLimit', 10, true);
  if (connectionLimit > MAX_POOL_SIZE) {
    throw invalid(
      'connectionLimit',
      `must be an integer from 0 (no limit) to ${MAX_POOL_SIZE}`,
      connectionLimit,
    );
  }
  const queueLimit = poolNumber(rest, 'queueLimit', 0, false);
  const idleTimeout = poolNumber(rest, 'idleTimeout', 60_000, false);
  const maxIdle = poolNumber(rest, 'maxIdle', connectionLimit, false);
  // mysql2 sweeps idle connections (every second) only when maxIdle < connectionLimit: then those above
  // maxIdle close, and every one idle longer than idleTimeout (0: at the next sweep).
  const sweep = maxIdle < connectionLimit;
  const connectTimeout = Number(connectionConfig.connectTimeout ?? 0);
  return {
    connectionConfig,
    connectionLimit,
    max: connectionLimit === 0 ? MAX_POOL_SIZE : connectionLimit,
    queueLimit,
    waitForConnections: rest.waitForConnections === undefined ? true : Boolean(rest.waitForConnections),
    idleTimeoutMs: sweep ? Math.max(1, idleTimeout) : 0,
    maxIdle,
    idleTimeout,
    coreMaxIdle: sweep ? Math.floor(maxIdle) : connectionLimit === 0 ? MAX_POOL_SIZE : connectionLimit,
    resetOnRelease: rest.resetOnRelease === undefined ? false : Boolean(rest.resetOnRelease),
    // mysql2: a connectTimeout of 0 (or null) is no timeout at all.
    createTimeoutMs: connectTimeout > 0 ? connectTimeout + 1000 : Number.POSITIVE_INFINITY,
    lifeline,
  };
}

/** mysql2's ConnectionConfig; when it throws, the option that made it throw is named. */
function connectionConfigOf(rest: Record<string, unknown>): Record<string, unknown> {
  try {
    return new ConnectionConfig(rest);
  } catch (error) {
    for (const key of Object.keys(rest)) {
      try {
        new ConnectionConfig({ [key]: rest[key] });
      } catch (own) {
        throw invalid(key, 'is not accepted by mysql2', rest[key], own);
      }
    }
    throw invalid('config', 'is not accepted by mysql2', rest, error);
  }
}

/** What mysql2 accepts at construction but fails on when it connects or queries. */
function checkConnection(rest: Record<string, unknown>, c: Record<string, unknown>): void {
  if (typeof c.host !== 'string') throw invalid('host', 'must be a string', rest.host);
  if (c.socketPath === undefined || c.socketPath === null || c.socketPath === '') {
    const port = c.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid('port', 'must be an integer from 1 to 65535', rest.port);
    }
  }
  const timeout = c.connectTimeout;
  // Node turns a timer past 2^31 − 1 ms into 1 ms: mysql2 would then time every connect out at once.
  if (timeout !== null && !(typeof timeout === 'number' && timeout >= 0 && timeout <= MAX_TIMER_MS)) {
    throw invalid(
      'connectTimeout',
      `must be a number of milliseconds from 0 (none) to ${MAX_TIMER_MS}`,
      rest.connectTimeout,
    );
  }
  const delay = rest.keepAliveInitialDelay;
  if (delay !== undefined && !(typeof delay === 'number' && delay >= 0 && Number.isFinite(delay))) {
    throw invalid('keepAliveInitialDelay', 'must be a number of milliseconds ≥ 0', delay);
  }
  const statements = rest.maxPreparedStatements;
  if (statements && !(typeof statements === 'number' && Number.isInteger(statements) && statements > 0)) {
    throw invalid('maxPreparedStatements', 'must be a positive integer', statements);
  }
  const charsetNumber = c.charsetNumber;
  if (
    typeof charsetNumber !== 'number' ||
    !Number.isInteger(charsetNumber) ||
    charsetNumber < 1 ||
    charsetNumber > 255
  ) {
    throw invalid(
      rest.charset === undefined ? 'charsetNumber' : 'charset',
      'must name a MySQL character set',
      rest.charset ?? rest.charsetNumber,
    );
  }
  const attributes = rest.connectAttributes;
  if (attributes !== undefined && attributes !== null) {
    const values =
      typeof attributes === 'object' && !Array.isArray(attributes) ? Object.values(attributes) : [0];
    if (values.some((v) => typeof v !== 'string')) {
      throw invalid('connectAttributes', 'must be an object of string values', attributes);
    }
  }
  const plugins = rest.authPlugins;
  if (plugins !== undefined && plugins !== null && (typeof plugins !== 'object' || Array.isArray(plugins))) {
    throw invalid('authPlugins', 'must be an object of auth plugin functions', plugins);
  }
  const ssl = c.ssl as Record<string, unknown> | false;
  if (ssl) {
    // mysql2 builds this context at connect time (a bad `ca` or `key` throws there): build it now.
    try {
      tls.createSecureContext({
        ca: ssl.ca,
        cert: ssl.cert,
        ciphers: ssl.ciphers,
        key: ssl.key,
        passphrase: ssl.passphrase,
        minVersion: ssl.minVersion,
        maxVersion: ssl.maxVersion,
      } as tls.SecureContextOptions);
    } catch (error) {
      throw invalid(
        'ssl',
        'must be TLS options Node accepts (ca, cert, key, ciphers, minVersion …)',
        rest.ssl,
        error,
      );
    }
  }
}
