// `lifeline check URL`: what a server (Postgres, PgBouncer's admin console, MySQL/MariaDB, Redis) says about
// its connections and the settings that cut or keep them, this machine's TCP capabilities, lifeline's
// options to use against them and the fleet arithmetic. Human text or --json; exit 0 fine, 1 a warning,
// 2 usage (or the driver is not installed), 3 the server could not be reached or checked. Each protocol
// lives in check/<protocol>.ts and its driver is loaded only when the URL asks for it.

import { parseArgs } from 'node:util';
import { redact } from '../core/errors.js';
import { argsError, UsageError, usageFailure, versionLine } from './args.js';
import { clientFindings, probeClient } from './check/client.js';
import { fleetFindings, fleetOf } from './check/fleet.js';
import { renderReport } from './check/render.js';
import {
  CheckDriverMissingError,
  type CheckReport,
  CheckUnreachableError,
  type Gathered,
  type Kind,
} from './check/types.js';

const DEFAULT_TIMEOUT_MS = 5000;

const USAGE = `Usage: lifeline check <url> [options]

Asks a server what it knows about its connections and the settings that cut or keep them, checks what
this machine's kernel takes (keepalive, TCP_USER_TIMEOUT), and says what lifeline's options should be.

URLs:
  postgres://user[:password]@host[:port]/db        PostgreSQL (pg_stat_activity, pg_settings)
  postgres://user@host:6432/pgbouncer              PgBouncer's admin console (SHOW POOLS/CLIENTS/CONFIG;
                                                   the user must be in admin_users or stats_users)
  mysql://user[:password]@host[:port]/db           MySQL or MariaDB (also mariadb://)
  redis://[user:password@]host[:port]              Redis (also rediss:// for TLS)

Options:
  --instances <n>     how many processes run a pool against this server (with --pool-max)
  --pool-max <m>      each process's pool size: checks n × m against the server's connection limit
  --timeout <ms>      bound on connecting and on each query (default: ${DEFAULT_TIMEOUT_MS})
  --json              print the report as JSON
  -h, --help          show this help
  --version           print the version

Exit codes: 0 no warnings, 1 a warning (a finding to act on), 2 bad usage or the driver for the URL is
not installed (pg, mysql2, ioredis), 3 the server could not be reached or checked.
Passwords never appear in the output.`;

const SYNOPSIS = 'Usage: lifeline check <url> [--instances <n> --pool-max <m>] [--timeout <ms>] [--json]';

const OPTIONS = {
  instances: { type: 'string' },
  'pool-max': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const;

interface Target {
  url: string;
  shown: string;
  kind: Kind;
  host: string;
  port: number;
}

const SCHEMES: Record<string, { kind: Kind; port: number }> = {
  'postgres:': { kind: 'postgres', port: 5432 },
  'postgresql:': { kind: 'postgres', port: 5432 },
  'mysql:': { kind: 'mysql', port: 3306 },
  'mariadb:': { kind: 'mysql', port: 3306 },
  'redis:': { kind: 'redis', port: 6379 },
  'rediss:': { kind: 'redis', port: 6379 },
};

function parseTarget(text: string): Target {
  const shown = redact(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: ${shown} (e.g. postgres://user@host:5432/db)`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) {
    throw new UsageError(
      `unsupported scheme '${url.protocol}' in ${shown}: use postgres://, mysql://, mariadb://, redis:// or rediss://`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError(`the URL names no host: ${shown}`);
  const port = url.port === '' ? scheme.port : Number(url.port);
  const kind = scheme.kind === 'postgres' && url.pathname === '/pgbouncer' ? 'pgbouncer' : scheme.kind;
  // mysql2 reads only mysql:// URLs; mariadb:// names the same protocol.
  const driverUrl = url.protocol === 'mariadb:' ? `mysql:${text.slice('mariadb:'.length)}` : text;
  return { url: driverUrl, shown, kind, host, port };
}

function positiveInteger(text: string | undefined, option: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,9}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= max))
    throw new UsageError(`${option} must be a whole number from 1 to ${max}, got "${text}"`);
  return n;
}

interface Parsed {
  target: Target;
  json: boolean;
  timeoutMs: number;
  fleet: { instances: number; poolMax: number } | undefined;
}

function parse(argv: string[]): Parsed | 'help' | 'version' {
  let values: { [K in keyof typeof OPTIONS]?: string | boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: OPTIONS,
    }));
  } catch (error) {
    throw argsError(error);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals.length === 0) throw new UsageError('no URL given');
  if (positionals.length > 1) throw new UsageError(`one URL at a time, got ${positionals.length}`);
  const instances = positiveInteger(values.instances as string | undefined, '--instances', 1_000_000);
  const poolMax = positiveInteger(values['pool-max'] as string | undefined, '--pool-max', 1_000_000);
  if ((instances === undefined) !== (poolMax === undefined)) {
    throw new UsageError('--instances and --pool-max go together: give both');
  }
  const timeoutMs =
    positiveInteger(values.timeout as string | undefined, '--timeout', 600_000) ?? DEFAULT_TIMEOUT_MS;
  return {
    target: parseTarget(positionals[0] as string),
    json: values.json === true,
    timeoutMs,
    fleet: instances !== undefined && poolMax !== undefined ? { instances, poolMax } : undefined,
  };
}

async function gather(target: Target, timeoutMs: number): Promise<Gathered> {
  switch (target.kind) {
    case 'postgres':
      return (await import('./check/postgres.js')).checkPostgres(target.url, target.shown, timeoutMs);
    case 'pgbouncer':
      return (await import('./check/pgbouncer.js')).checkPgBouncer(target.url, target.shown, timeoutMs);
    case 'mysql':
      return (await import('./check/mysql.js')).checkMysql(target.url, target.shown, timeoutMs);
    case 'redis':
      return (await import('./check/redis.js')).checkRedis(target.url, target.shown, timeoutMs);
  }
}

/** Runs the check; a backstop deadline (the drivers' own bounds should end every step first). */
async function check(parsed: Parsed): Promise<CheckReport> {
  const { target, timeoutMs } = parsed;
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CheckUnreachableError(`could not check ${target.shown}: no answer within ${timeoutMs * 8} ms`),
        ),
      timeoutMs * 8,
    );
    timer.unref();
  });
  try {
    // The bare TCP probe goes first: a successful login after it resets MySQL's connect-error count.
    const client = await Promise.race([probeClient(target.host, target.port, timeoutMs), backstop]);
    const gathered = await Promise.race([gather(target, timeoutMs), backstop]);
    const { server } = gathered;
    const fleet =
      parsed.fleet && server.limit
        ? fleetOf(parsed.fleet.instances, parsed.fleet.poolMax, server.limit)
        : undefined;
    const findings = [
      ...gathered.findings,
      ...clientFindings(client),
      ...(fleet && server.limit ? fleetFindings(fleet, server.limit, target.kind) : []),
    ];
    if (parsed.fleet && !server.limit) {
      findings.push({
        level: 'info',
        code: 'fleet.limit-unknown',
        message: 'the server did not say its connection limit: the fleet arithmetic could not be done',
      });
    }
    // Warnings first, in the order they were found.
    findings.sort((a, b) => (a.level === b.level ? 0 : a.level === 'warn' ? -1 : 1));
    return {
      target: { url: target.shown, kind: target.kind, host: target.host, port: target.port },
      server,
      settings: gathered.settings,
      advice: gathered.advice,
      client,
      fleet,
      findings,
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageFailure('lifeline check', error.message, SYNOPSIS));
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (parsed === 'version') {
    console.log(versionLine());
    return 0;
  }
  let report: CheckReport;
  try {
    report = await check(parsed);
  } catch (error) {
    if (!(error instanceof CheckUnreachableError || error instanceof CheckDriverMissingError)) throw error;
    // Built from redacted parts (the URL as shown, the driver's message through redact): redacting the
    // whole again would let the URL's user info run on to an '@' in the driver's message.
    const message = error.message;
    if (parsed.json) {
      const target = {
        url: parsed.target.shown,
        kind: parsed.target.kind,
        host: parsed.target.host,
        port: parsed.target.port,
      };
      console.log(JSON.stringify({ target, error: { code: error.code, message } }, null, 2));
    }
    console.error(`lifeline check: ${message}`);
    return error instanceof CheckDriverMissingError ? 2 : 3;
  }
  // Every string that reaches the output passes through redact, server-reported values included; one by
  // one, so a URL's user info cannot run on into the next value.
  const safe = JSON.parse(
    JSON.stringify(report, (_, v: unknown) => (typeof v === 'string' ? redact(v) : v)),
  ) as CheckReport;
  console.log(parsed.json ? JSON.stringify(safe, null, 2) : renderReport(safe));
  return report.findings.some((f) => f.level === 'warn') ? 1 : 0;
}
