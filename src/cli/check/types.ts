// `lifeline check`'s report: what one server says about its connections, the settings that cut or keep
// them, what lifeline's options should be against those settings, this machine's TCP capabilities and the
// fleet arithmetic. The same object is printed as text or as JSON (--json), so its shape is the contract.

import { LifelineError } from '../../core/errors.js';
import type { SocketCapabilities } from '../../socket/index.js';

export type Kind = 'postgres' | 'pgbouncer' | 'mysql' | 'redis';

/**
 * Something the operator should act on ('warn': the exit code becomes 1) or know ('info'). `code` is stable,
 * e.g. `redis.timeout`, `fleet.over-limit`.
 */
export interface Finding {
  level: 'warn' | 'info';
  code: string;
  message: string;
}

/** A server setting as the server reports it; `ms` for durations (0: off), `count` for limits. */
export interface Setting {
  value: string;
  ms?: number;
  count?: number;
}

/** A lifeline option and the value it should have against this server. */
export interface Advice {
  /** The option as the user writes it, e.g. `lifeline-net/pg: idleTimeoutMillis`. */
  option: string;
  value: string;
  because: string;
}

/** Connections sharing application name, user, client address (no port) and state. */
export interface ConnectionGroup {
  application: string;
  user: string;
  address: string;
  state: string;
  count: number;
  /** Age of the oldest connection of the group, in whole seconds. */
  oldestSeconds: number;
}

/** A connection holding a transaction open while it sends nothing. */
export interface IdleTransaction {
  id: string;
  application: string;
  user: string;
  address: string;
  /** Seconds since the transaction started (undefined when the server does not say). */
  transactionSeconds: number | undefined;
  /** Seconds since its last statement or command. */
  idleSeconds: number;
}

/** How many connections the server takes from applications: its limit minus the reserved slots. */
export interface ConnectionLimit {
  /** The setting the limit comes from, e.g. `max_connections`. */
  setting: string;
  max: number;
  reserved: number;
  available: number;
}

export interface ServerView {
  version: string;
  /** Connections the server reports (the check's own one included). */
  total: number;
  groups: ConnectionGroup[];
  idleInTransaction: IdleTransaction[];
  limit: ConnectionLimit | undefined;
  /** PgBouncer only: SHOW POOLS rows (selected columns). */
  pools?: Record<string, string | number>[];
}

/** What a gatherer (one per protocol) found. */
export interface Gathered {
  server: ServerView;
  settings: Record<string, Setting>;
  advice: Advice[];
  findings: Finding[];
}

export interface ClientSide {
  /** LiveSocket's defaults, as applied to a connection to this server and read back from the kernel. */
  capabilities: SocketCapabilities | undefined;
  /** Why capabilities are missing (the probe connection failed). */
  error?: string;
}

export interface Fleet {
  instances: number;
  poolMax: number;
  total: number;
  /** The server's available connections (its limit minus reserved slots). */
  available: number;
  fits: boolean;
  /** available − total (negative when it does not fit). */
  headroom: number;
}

export interface CheckReport {
  target: { url: string; kind: Kind; host: string; port: number };
  server: ServerView;
  settings: Record<string, Setting>;
  advice: Advice[];
  client: ClientSide;
  fleet: Fleet | undefined;
  findings: Finding[];
}

/** The server could not be reached or could not be checked (exit 3). */
export class CheckUnreachableError extends LifelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LIFELINE_CHECK_UNREACHABLE', message, options);
  }
}

/** The driver the scheme needs is not installed (exit 2: this installation cannot run that check). */
export class CheckDriverMissingError extends LifelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LIFELINE_CHECK_DRIVER_MISSING', message, options);
  }
}

/** Groups rows by application, user, address and state, keeping the count and the oldest age. */
export function groupConnections(
  rows: { application: string; user: string; address: string; state: string; ageSeconds: number }[],
): ConnectionGroup[] {
  const groups = new Map<string, ConnectionGroup>();
  for (const r of rows) {
    const key = JSON.stringify([r.application, r.user, r.address, r.state]);
    const age = Math.max(0, Math.floor(r.ageSeconds));
    const group = groups.get(key);
    if (group) {
      group.count++;
      group.oldestSeconds = Math.max(group.oldestSeconds, age);
    } else {
      const { application, user, address, state } = r;
      groups.set(key, { application, user, address, state, count: 1, oldestSeconds: age });
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.oldestSeconds - a.oldestSeconds);
}

/** An address without its port: `10.0.0.5:51234` → `10.0.0.5`, `[::1]:5` → `::1`. */
export function hostOf(address: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (v6) return v6[1] as string;
  const v4 = /^([^:]+):\d+$/.exec(address);
  return v4 ? (v4[1] as string) : address;
}

/** A whole number from server text, or undefined. */
export function integer(text: unknown): number | undefined {
  const n = typeof text === 'number' ? text : Number(String(text ?? '').trim());
  return Number.isFinite(n) && String(text ?? '').trim() !== '' ? Math.trunc(n) : undefined;
}

/** A duration setting: `text` in `unit` ('ms', 's', 'min', 'h', 'd'), 0 meaning off. */
export function duration(text: string, unit: string): Setting {
  const factor: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  const n = Number(text);
  const f = factor[unit];
  return Number.isFinite(n) && f !== undefined ? { value: text, ms: n * f } : { value: text };
}

/** A count setting (a connection limit). */
export function count(text: string): Setting {
  const n = integer(text);
  return n === undefined ? { value: text } : { value: text, count: n };
}

/** `12000` → `12 s`, `90000` → `90 s`, `7200000` → `2 h`. */
export function human(ms: number): string {
  if (ms === 0) return 'off';
  if (ms < 1000) return `${ms} ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms >= 600_000) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** A value safely below a cut: 80 % of it, rounded down to whole seconds when it is over 10 s. */
export function below(cutMs: number): number {
  const v = Math.floor(cutMs * 0.8);
  return v >= 10_000 ? Math.floor(v / 1000) * 1000 : v;
}

/** The share of available connections in use past which a finding is raised. */
export const BUSY_SHARE = 0.8;

/** A 'warn' finding when more than BUSY_SHARE of the server's available connections are in use. */
export function busyFinding(code: string, limit: ConnectionLimit | undefined, total: number): Finding[] {
  if (limit === undefined || limit.available <= 0 || total <= limit.available * BUSY_SHARE) return [];
  return [
    {
      level: 'warn',
      code,
      message: `${total} of the ${limit.available} connections available to applications are in use (${limit.setting} ${limit.max}${limit.reserved ? ` − ${limit.reserved} reserved` : ''}): new pools will wait or fail`,
    },
  ];
}
