import type { PoolConfig } from 'pg';
import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';

/** libpq's target_session_attrs: which kind of server a new connection must land on. */
export type TargetSessionAttrs =
  | 'any'
  | 'read-write'
  | 'read-only'
  | 'primary'
  | 'standby'
  | 'prefer-standby';

const TARGETS: readonly TargetSessionAttrs[] = [
  'any',
  'read-write',
  'read-only',
  'primary',
  'standby',
  'prefer-standby',
];

/** One server of a multi-host list, and the client config that reaches exactly it. */
export interface PgHost {
  /** `host:port`, for messages and events (never a password). */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly config: PoolConfig;
}

export interface HostPlan {
  readonly hosts: readonly PgHost[];
  readonly targetSessionAttrs: TargetSessionAttrs;
}

/** A connection string or host list that cannot be understood; the message never echoes a password. */
export class PgConfigError extends LifelineError {
  constructor(message: string) {
    super('LIFELINE_PG_CONFIG', redact(message));
  }
}
brand(PgConfigError, 'PgConfigError');

const DEFAULT_PORT = 5432;

/**
 * Splits a pg config whose connection string or `host` names several servers (`postgres://u@h1:5432,h2:5433/db`,
 * libpq's `host=a,b port=5432,5433`, or `{ host: 'a,b' }`) into one config per server, in the order given,
 * as libpq does. pg itself rejects such strings ("Invalid URL") or would connect to a host named "a,b".
 */
export function planHosts(
  config: PoolConfig & { target_session_attrs?: string },
  lifelineTarget?: string,
): HostPlan {
  let base: PoolConfig & { target_session_attrs?: string } = { ...config };
  let target = lifelineTarget ?? config.target_session_attrs;
  let urlHosts: { prefix: string; netlocHosts: string[]; suffix: string } | undefined;

  const cs = config.connectionString;
  if (cs !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(cs)) {
      // The user info runs to the last '@' of the authority, as in pg's own parser (WHATWG URL): a password
      // may contain an unescaped '@'.
      const m = /^(postgres(?:ql)?:\/\/(?:[^/?#]*@)?)([^/?#@]*)(.*)$/is.exec(cs);
      if (!m) throw new PgConfigError('cannot parse the postgres:// connection string');
      const netloc = m[2] ?? '';
      const suffix = m[3] ?? '';
      const attrs = /[?&]target_session_attrs=([^&#]*)/.exec(suffix);
      if (attrs?.[1] !== undefined && target === undefined) target = decodeURIComponent(attrs[1]);
      if (netloc !== '') urlHosts = { prefix: m[1] ?? '', netlocHosts: netloc.split(','), suffix };
    } else if (/^\s*\w+\s*=/.test(cs)) {
      // libpq keyword/value form, which pg does not parse at all: turn it into config fields.
      const { connectionString: _, ...rest } = base;
      base = { ...rest, ...parseKeywordValue(cs) };
      if (target === undefined) target = base.target_session_attrs;
    }
  }
  target ??= process.env.PGTARGETSESSIONATTRS ?? 'any';
  if (!TARGETS.includes(target as TargetSessionAttrs)) {
    throw new PgConfigError(
      `target_session_attrs must be one of ${TARGETS.join(', ')}; got ${JSON.stringify(target)}`,
    );
  }
  delete base.target_session_attrs;

  let hosts: PgHost[];
  if (urlHosts) {
    const { prefix, netlocHosts, suffix } = urlHosts;
    hosts = netlocHosts.map((entry) => {
      const { host, port } = splitHostPort(entry, DEFAULT_PORT);
      return {
        label: `${host}:${port}`,
        host,
        port,
        config: { ...base, connectionString: `${prefix}${entry}${suffix}` },
      };
    });
  } else if (typeof base.host === 'string' && base.host.includes(',')) {
    const names = base.host.split(',');
    const ports = String(base.port ?? '')
      .split(',')
      .filter((p) => p !== '');
    if (ports.length > 1 && ports.length !== names.length) {
      throw new PgConfigError(
        `${names.length} hosts but ${ports.length} ports: give one port, or one per host`,
      );
    }
    hosts = names.map((name, i) => {
      const port = Number(ports.length > 1 ? ports[i] : (ports[0] ?? DEFAULT_PORT));
      const host = name.trim();
      return { label: `${host}:${port}`, host, port, config: { ...base, host, port } };
    });
  } else {
    const host = base.host ?? process.env.PGHOST ?? 'localhost';
    const port = Number(base.port ?? process.env.PGPORT ?? DEFAULT_PORT);
    hosts = [{ label: `${host}:${port}`, host, port, config: base }];
  }
  for (const h of hosts) {
    if (h.host === '' || !Number.isInteger(h.port) || h.port <= 0 || h.port > 65535) {
      throw new PgConfigError(`bad host entry ${JSON.stringify(h.label)} in the host list`);
    }
  }
  return { hosts, targetSessionAttrs: target as TargetSessionAttrs };
}

function splitHostPort(entry: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return { host: v6[1] ?? '', port: v6[2] ? Number(v6[2]) : defaultPort };
  const at = entry.lastIndexOf(':');
  if (at === -1) return { host: decodeURIComponent(entry), port: defaultPort };
  return { host: decodeURIComponent(entry.slice(0, at)), port: Number(entry.slice(at + 1)) };
}

const KEYWORDS: Record<string, string> = {
  host: 'host',
  hostaddr: 'host',
  port: 'port',
  dbname: 'database',
  user: 'user',
  password: 'password',
  application_name: 'application_name',
  fallback_application_name: 'fallback_application_name',
  options: 'options',
  target_session_attrs: 'target_session_attrs',
  client_encoding: 'client_encoding',
};

/** libpq's `key=value key='quoted value'` syntax; unknown keywords are rejected rather than ignored. */
function parseKeywordValue(text: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const re = /\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/gy;
  let m = re.exec(text);
  let end = 0;
  while (m) {
    end = re.lastIndex;
    const key = m[1] ?? '';
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (key === 'sslmode') out.ssl = value !== 'disable' && value !== 'allow' && value !== 'prefer';
    else if (key === 'connect_timeout') out.connectionTimeoutMillis = Number(value) * 1000;
    else {
      const field = KEYWORDS[key];
      if (field === undefined) throw new PgConfigError(`unknown connection keyword ${JSON.stringify(key)}`);
      out[field] = value;
    }
    m = re.exec(text);
  }
  if (text.slice(end).trim() !== '')
    throw new PgConfigError(`cannot parse connection string near ${text.slice(end)}`);
  return out;
}
