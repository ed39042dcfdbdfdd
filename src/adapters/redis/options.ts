// lifeline-net/redis options: the `lifeline` object beside the driver's options, its validation, and the event payloads.
import net from 'node:net';
import { InvalidOptionError, MAX_TIMER_MS, type OptionRules, validateOptions } from '../../core/options.js';
import { commandKey } from '../../protocols/redis-commands.js';
import { type DeathCause, LiveSocket, type LiveSocketOptions } from '../../socket/index.js';

/** How one driver connection ended; given once per connection to `onConnectionEnd`, whoever closed it. */
export interface ConnectionEnd {
  /** `host:port` of the server. */
  endpoint: string;
  /** Why it ended, as LiveSocket recorded it: 'peer-fin', 'reset', 'write-stall', 'local-close'… */
  cause: DeathCause;
  /** The typed error describing the end (password-free). */
  error: Error;
  /** How long the connection had been open. */
  openForMs: number;
}

/** Reported after a subscriber's connection died and every channel and pattern was subscribed again. */
export interface SubscriptionGap {
  /** Time during which no subscription was active: from the connection's death to the server's confirmation. */
  durationMs: number;
  channels: string[];
  patterns: string[];
  shardChannels: string[];
  /** Why the old connection died. */
  cause: DeathCause | 'unknown';
}

/** lifeline's own options for lifeline-net/redis, given as `lifeline: { … }` next to the driver's options. */
export interface RedisLifelineOptions {
  /** LiveSocket settings for every connection (keepalive, TCP_USER_TIMEOUT, write stall). idleData is lifeline's. */
  socket?: Omit<LiveSocketOptions, 'idleData' | 'readTimeoutMs'>;
  /**
   * Commands (`incrby`, or `client|kill` for a subcommand) declared safe to send twice, on top of lifeline's
   * table (read-only commands and idempotent writes).
   */
  idempotentCommands?: readonly string[];
  /** Runs once when each connection ends, whoever closed it (the server, the network, the client). */
  onConnectionEnd?: (end: ConnectionEnd) => void;
  /**
   * A reply silent for this long (ms) is verified: the server is asked on another connection
   * (`CLIENT LIST ID`) whether it still has work for this one; if not, the reply was lost and the connection
   * is closed. Blocking commands (flag `b`) are never judged lost. 0 turns verification off. Default 5000.
   */
  replyOverdueMs?: number;
  /** node-redis clients: how many times a safe command is sent again after connection losses (default 5). */
  maxResends?: number;
  /**
   * node-redis clients: the longest a command may take, resends included (ms). Past it the command fails
   * with RedisDeadlineExceededError (`LIFELINE_DEADLINE_EXCEEDED`), withdrawn from the driver's queue when it
   * was not written yet; no resend starts after it. 0 (the default): no deadline of lifeline's.
   */
  commandDeadlineMs?: number;
}

export interface ResolvedRedisLifelineOptions {
  socket: LiveSocketOptions;
  idempotent: ReadonlySet<string>;
  onConnectionEnd: ((end: ConnectionEnd) => void) | undefined;
  maxResends: number;
  replyOverdueMs: number;
  commandDeadlineMs: number;
}

/** Lifeline's defaults: faster than the kernel's (2 h keepalive, ~15 min retransmission) by far. */
const socketDefaults: LiveSocketOptions = {
  keepaliveIdleMs: 10_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCount: 3,
  userTimeoutMs: 20_000,
  writeStallMs: 30_000,
};

const rules: OptionRules = {
  socket: { kind: 'object', rules: {}, open: true },
  idempotentCommands: { kind: 'object', rules: {}, open: true },
  onConnectionEnd: { kind: 'function' },
  maxResends: { kind: 'number', min: 0, max: 100, integer: true },
  replyOverdueMs: { kind: 'number', min: 0, max: MAX_TIMER_MS, integer: true },
  commandDeadlineMs: { kind: 'number', min: 0, max: MAX_TIMER_MS, integer: true },
};

/** Validates once, at construction; every message names the option and its allowed values. */
export function resolveLifelineOptions(owner: string, value: unknown): ResolvedRedisLifelineOptions {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError(owner, 'lifeline', "must be an object of lifeline's options", value);
  }
  const options = (value ?? {}) as RedisLifelineOptions;
  // Checked before validateOptions, whose message for a nested object that is not one names `socket.`.
  const given = options.socket;
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    throw new InvalidOptionError(
      `${owner} lifeline`,
      'socket',
      'must be an object of LiveSocket options',
      given,
    );
  }
  const names = options.idempotentCommands ?? [];
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string' && name.length > 0)) {
    throw new InvalidOptionError(
      `${owner} lifeline`,
      'idempotentCommands',
      "must be an array of command names ('incrby', 'client|kill')",
      names,
    );
  }
  validateOptions(`${owner} lifeline`, options, rules);
  const overdue = options.replyOverdueMs ?? 5000;
  if (overdue > 0 && overdue < 10) {
    throw new InvalidOptionError(
      `${owner} lifeline`,
      'replyOverdueMs',
      'must be 0 (off) or at least 10',
      overdue,
    );
  }
  const socket = { ...socketDefaults, ...options.socket };
  for (const banned of ['idleData', 'readTimeoutMs'] as const) {
    if (banned in socket) {
      throw new InvalidOptionError(
        `${owner} lifeline`,
        `socket.${banned}`,
        'is set by lifeline (idle data is rejected except on subscriber/RESP3 connections; blocking commands have no read deadline)',
        (socket as LiveSocketOptions)[banned],
      );
    }
  }
  // LiveSocket checks its options when it wraps a socket: check them now, on a socket already closed (nothing
  // is applied to it), so a bad value fails construction instead of every connection.
  const probe = new net.Socket();
  probe.destroy();
  try {
    LiveSocket.wrap(probe, socket);
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    // Named as the user wrote it: `socket.keepaliveIdleMs`, under this client's lifeline options.
    const requirement = error.message.replace(/^.*? option "[^"]*" /s, '').replace(/, got [^,]*$/s, '');
    const got = (socket as unknown as Record<string, unknown>)[error.option];
    throw new InvalidOptionError(`${owner} lifeline`, `socket.${error.option}`, requirement, got, {
      cause: error,
    });
  }
  return {
    socket,
    idempotent: new Set(
      names.map((name: string) => commandKey(name.split('|')[0] ?? name, name.split('|').slice(1))),
    ),
    onConnectionEnd: options.onConnectionEnd,
    maxResends: options.maxResends ?? 5,
    replyOverdueMs: overdue,
    commandDeadlineMs: options.commandDeadlineMs ?? 0,
  };
}
