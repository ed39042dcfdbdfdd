import type * as tls from 'node:tls';
import { InvalidOptionError, MAX_TIMER_MS, type OptionRules, validateOptions } from '../core/options.js';

/** How a LiveSocket watches its connection. Every time is in milliseconds; 0 turns a check off. */
export interface LiveSocketOptions {
  /** Idle time before the first TCP keepalive probe. Whole seconds (the kernel counts seconds), ≥ 1000. */
  keepaliveIdleMs?: number;
  /** Time between keepalive probes. Whole seconds, ≥ 1000. Needs net-keepalive. */
  keepaliveIntervalMs?: number;
  /** Unanswered probes before the connection dies. 1–127. Needs net-keepalive. */
  keepaliveCount?: number;
  /** TCP_USER_TIMEOUT: how long sent data may stay unacknowledged. Needs net-keepalive on Linux. */
  userTimeoutMs?: number;
  /** Bytes queued without any progress for this long kill the connection with 'write-stall'. */
  writeStallMs?: number;
  /** Default longest silence while a reply is awaited (see expectReply). */
  readTimeoutMs?: number;
  /** Bytes arriving while no reply is awaited: 'reject' retires the connection, 'allow' accepts them. */
  idleData?: 'reject' | 'allow';
  /** How long close() waits for the peer to finish before destroying the socket. */
  closeTimeoutMs?: number;
}

export interface LiveSocketConnectOptions extends LiveSocketOptions {
  host: string;
  port: number;
  /** Dial TLS with these options (servername defaults to host). */
  tls?: tls.ConnectionOptions;
  /** Give up connecting (TCP and TLS handshake) after this long; 0 waits as long as the OS does. */
  connectTimeoutMs?: number;
}

export type ResolvedOptions = Required<LiveSocketOptions>;

export const defaultOptions: Readonly<ResolvedOptions> = {
  keepaliveIdleMs: 10_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCount: 3,
  userTimeoutMs: 20_000,
  writeStallMs: 30_000,
  readTimeoutMs: 0,
  idleData: 'allow',
  closeTimeoutMs: 5_000,
};

export const defaultConnectTimeoutMs = 10_000;

/** MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL in the Linux kernel, in seconds. */
const MAX_KEEPALIVE_MS = 32767 * 1000;

/** A delay a Node timer can hold; 0 turns the check off. */
export const timer = { kind: 'number', min: 0, max: MAX_TIMER_MS, integer: true } as const;

const socketRules: OptionRules = {
  keepaliveIdleMs: { kind: 'number', min: 0, max: MAX_KEEPALIVE_MS, integer: true },
  keepaliveIntervalMs: { kind: 'number', min: 1000, max: MAX_KEEPALIVE_MS, integer: true },
  keepaliveCount: { kind: 'number', min: 1, max: 127, integer: true },
  userTimeoutMs: timer,
  writeStallMs: timer,
  readTimeoutMs: timer,
  idleData: { kind: 'enum', values: ['reject', 'allow'] },
  closeTimeoutMs: timer,
};

const connectRules: OptionRules = {
  ...socketRules,
  host: { kind: 'string', required: true },
  port: { kind: 'number', min: 1, max: 65535, integer: true, required: true },
  tls: { kind: 'object', rules: {}, open: true },
  connectTimeoutMs: timer,
};

/** The kernel counts keepalive time in whole seconds; Node's delay under 1000 ms means the 2-hour default. */
function checkKeepaliveSeconds(owner: string, options: ResolvedOptions): void {
  const idle = options.keepaliveIdleMs;
  if (idle !== 0 && idle < 1000) {
    throw new InvalidOptionError(
      owner,
      'keepaliveIdleMs',
      'must be 0 (off) or at least 1000: Node turns a shorter delay into the 2-hour OS default',
      idle,
    );
  }
  for (const name of ['keepaliveIdleMs', 'keepaliveIntervalMs'] as const) {
    if (options[name] % 1000 !== 0) {
      throw new InvalidOptionError(
        owner,
        name,
        'must be a whole number of seconds (a multiple of 1000), because the kernel counts keepalive time in seconds',
        options[name],
      );
    }
  }
}

function withDefaults(options: LiveSocketOptions, owner: string): ResolvedOptions {
  const resolved: ResolvedOptions = { ...defaultOptions };
  for (const key of Object.keys(defaultOptions) as (keyof ResolvedOptions)[]) {
    const value = options[key];
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  checkKeepaliveSeconds(owner, resolved);
  return resolved;
}

/** Validates once, at construction; every message names the option and its allowed range. */
export function resolveOptions(options: LiveSocketOptions = {}, owner = 'LiveSocket'): ResolvedOptions {
  validateOptions(owner, options, socketRules);
  return withDefaults(options, owner);
}

export interface ResolvedConnectOptions {
  host: string;
  port: number;
  tls: tls.ConnectionOptions | undefined;
  connectTimeoutMs: number;
  socket: ResolvedOptions;
}

export function resolveConnectOptions(options: LiveSocketConnectOptions): ResolvedConnectOptions {
  const owner = 'LiveSocket.connect';
  validateOptions(owner, options, connectRules);
  return {
    host: options.host,
    port: options.port,
    tls: options.tls,
    connectTimeoutMs: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
    socket: withDefaults(options, owner),
  };
}
