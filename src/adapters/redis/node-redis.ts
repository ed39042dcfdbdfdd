// node-redis made lifeline's: a watched connection, and in-flight commands re-sent only when safe.
import type {
  RedisClientOptions,
  RedisClientType,
  RedisFunctions,
  RedisModules,
  RedisScripts,
  RespVersions,
  TypeMapping,
} from 'redis';
import { LifelineError } from '../../core/errors.js';
import { isSafeToResend } from '../../protocols/redis-commands.js';
import { WatchedConnection } from './connection.js';
import { type Tries, withDeadline } from './deadline.js';
import {
  RedisConnectionClosedError,
  RedisDeadlineExceededError,
  RedisOutcomeUnknownError,
  RedisRetriesExhaustedError,
} from './errors.js';
import { loadDriver } from './load.js';
import { isCommandMethod, redisArgs } from './node-redis-commands.js';
import {
  type RedisLifelineOptions,
  type ResolvedRedisLifelineOptions,
  resolveLifelineOptions,
} from './options.js';
import { takeConnectedSocket, watchClientSockets } from './socket-capture.js';
import { verifyOverdueReplies } from './verify.js';

type NodeRedis = typeof import('redis');
export const driver: NodeRedis = loadDriver<NodeRedis>('redis', 'createClient');

export const SUBSCRIBE_METHODS = new Set([
  'subscribe',
  'SUBSCRIBE',
  'pSubscribe',
  'PSUBSCRIBE',
  'sSubscribe',
  'SSUBSCRIBE',
  'monitor',
  'MONITOR',
]);
const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);

/** An error that says the connection went away under the command (not the server's answer). */
export function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof LifelineError) return error.code !== 'LIFELINE_OUTCOME_UNKNOWN';
  if (error instanceof driver.SocketClosedUnexpectedlyError || error instanceof driver.SocketTimeoutError)
    return true;
  const code: unknown = Reflect.get(error, 'code');
  return typeof code === 'string' && resetCodes.has(code);
}

/** lifeline's state for one node-redis client (shared by its views: withTypeMapping(), …). */
export interface ClientState {
  options: ResolvedRedisLifelineOptions;
  conn: WatchedConnection | undefined;
  /** Commands issued through lifeline and not settled yet. */
  pending: number;
  endpoint: string;
  gapSince: number | undefined;
  gapCause: string;
  subscribedAtDeath: boolean;
  /** A command answered: one shared function, so the success path allocates no closure. */
  settled: <T>(value: T) => T;
}

export type AnyClient = Record<string | symbol, unknown> & {
  isOpen: boolean;
  isPubSubActive: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  duplicate(overrides?: unknown): AnyClient;
  sendCommand(args: string[], options?: { asap?: boolean }): Promise<unknown>;
  destroy(): void;
  connect(): Promise<unknown>;
  options?: { socket?: { host?: string; port?: number; path?: string } };
};

/**
 * Sends `call()` and, after a connection loss, again while that is safe, up to maxResends times; with
 * `commandDeadlineMs`, within that deadline (deadline.ts), failing with RedisDeadlineExceededError past it.
 */
export function run(
  state: ClientState,
  client: AnyClient,
  method: string,
  fn: unknown,
  args: unknown[],
): Promise<unknown> {
  const deadlineMs = state.options.commandDeadlineMs;
  if (deadlineMs === 0) return attempt(state, client, method, fn, args, 1, undefined);
  return withDeadline(
    deadlineMs,
    client,
    (view, tries) => attempt(state, view, method, fn, args, 1, tries),
    (tries) => {
      const { name, safe } = judge(state, method, args);
      // A read's earlier attempts were written even when the last one was withdrawn.
      const written = !tries.withdrawn || tries.count > 1;
      return new RedisDeadlineExceededError(
        name,
        state.endpoint,
        deadlineMs,
        tries.count,
        written,
        safe,
        tries.lastError,
      );
    },
  );
}

/** The command's name as node-redis sends it, and whether sending it twice is harmless. */
function judge(
  state: ClientState,
  method: string,
  args: readonly unknown[],
): { name: string; safe: boolean } {
  const sent = redisArgs(method, args);
  const name = (sent?.[0] ?? method).toLowerCase();
  return { name, safe: sent !== undefined && isSafeToResend(name, sent.slice(1), state.options.idempotent) };
}

function attempt(
  state: ClientState,
  client: AnyClient,
  method: string,
  fn: unknown,
  args: unknown[],
  n: number,
  tries: Tries | undefined,
): Promise<unknown> {
  if (state.pending++ === 0) state.conn?.sent();
  if (tries !== undefined) tries.count = n;
  return (Reflect.apply(fn as (...a: unknown[]) => Promise<unknown>, client, args) as Promise<unknown>).then(
    state.settled,
    (error: unknown) => {
      if (--state.pending === 0) state.conn?.drained();
      if (tries?.expired) {
        // Past the deadline nothing is sent again; withDeadline gives the verdict.
        if (error instanceof driver.AbortError) tries.withdrawn = true;
        throw error;
      }
      if (!isConnectionLoss(error)) throw error;
      // node-redis rejects on a socket error only the commands it had written; unwritten ones stay queued.
      const { name, safe } = judge(state, method, args);
      if (!safe) throw new RedisOutcomeUnknownError(name, state.endpoint, error);
      if (!client.isOpen) throw new RedisConnectionClosedError(name, state.endpoint, true, error);
      if (n > state.options.maxResends) {
        throw new RedisRetriesExhaustedError(name, state.endpoint, n, error);
      }
      if (tries !== undefined) tries.lastError = error;
      return attempt(state, client, method, fn, args, n + 1, tries);
    },
  );
}

/** A MULTI or pipeline builder whose chained calls are recorded, so a read-only one can be built again. */
export function wrapMulti(state: ClientState, client: AnyClient, make: () => AnyClient): AnyClient {
  const recorded: [string, unknown[]][] = [];
  let multi = make();
  const exec = (method: string, execArgs: unknown[], attempt: number): Promise<unknown> =>
    (
      Reflect.apply(
        multi[method] as (...a: unknown[]) => Promise<unknown>,
        multi,
        execArgs,
      ) as Promise<unknown>
    ).catch((error: unknown) => {
      if (!isConnectionLoss(error)) throw error;
      const safe = recorded.every(([m, a]) => {
        const sent = redisArgs(m, a);
        return sent?.[0] !== undefined && isSafeToResend(sent[0], sent.slice(1), state.options.idempotent);
      });
      const what = method.toLowerCase().includes('pipeline')
        ? 'a pipeline was sent'
        : 'a MULTI … EXEC transaction was sent';
      if (!safe) throw new RedisOutcomeUnknownError('exec', state.endpoint, error, what);
      if (!client.isOpen) throw new RedisConnectionClosedError('exec', state.endpoint, true, error);
      if (attempt > state.options.maxResends)
        throw new RedisRetriesExhaustedError('exec', state.endpoint, attempt, error);
      multi = make();
      for (const [m, a] of recorded) Reflect.apply(multi[m] as (...x: unknown[]) => unknown, multi, a);
      return exec(method, execArgs, attempt + 1);
    });
  const view: AnyClient = new Proxy(multi, {
    get(_target, property) {
      const value = Reflect.get(multi, property, multi);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (/^(exec|EXEC|execAsPipeline|execTyped|execAsPipelineTyped)$/.test(property)) {
        return (...execArgs: unknown[]) => exec(property, execArgs, 1);
      }
      return (...args: unknown[]) => {
        const result: unknown = Reflect.apply(value, multi, args);
        if (result !== multi) return result;
        recorded.push([property, args]);
        return view;
      };
    },
  }) as AnyClient;
  return view;
}

/** The lifeline view of a node-redis client (or of one of its `with…()` views). */
function wrapClient(client: AnyClient, state: ClientState, driverOptions: object): AnyClient {
  const cache = new Map<string, unknown>();
  const view: AnyClient = new Proxy(client, {
    get(target, property) {
      const cached = typeof property === 'string' ? cache.get(property) : undefined;
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapped: (...args: unknown[]) => unknown;
      if (isCommandMethod(property)) {
        wrapped = (...args: unknown[]) => run(state, target, property, value, args);
      } else if (property === 'multi' || property === 'MULTI') {
        wrapped = () => wrapMulti(state, target, () => Reflect.apply(value, target, []) as AnyClient);
      } else if (property === 'duplicate') {
        wrapped = (...args: unknown[]) =>
          attach(Reflect.apply(value, target, args) as AnyClient, state.options, {
            ...driverOptions,
            ...(args[0] as object | undefined),
          });
      } else {
        wrapped = (...args: unknown[]) => {
          if (SUBSCRIBE_METHODS.has(property)) state.conn?.pin();
          return viewOf(Reflect.apply(value, target, args), target, view, state, driverOptions);
        };
      }
      cache.set(property, wrapped);
      return wrapped;
    },
  }) as AnyClient;
  return view;
}

/** Maps the client itself (connect() resolves to it) and its `with…()` views to lifeline views. */
function viewOf(
  result: unknown,
  target: AnyClient,
  view: AnyClient,
  state: ClientState,
  options: object,
): unknown {
  if (result === target) return view;
  if (result instanceof Promise) return result.then((value) => (value === target ? view : value));
  // node-redis builds a with…() view (withTypeMapping, withAbortSignal, withCommandOptions, asap) on the
  // client's inner instance (`_self`), not on the object createClient returned.
  if (typeof result === 'object' && result !== null) {
    const proto: unknown = Object.getPrototypeOf(result);
    if (proto === target || (proto !== null && proto === Reflect.get(target, '_self'))) {
      return wrapClient(result as AnyClient, state, options);
    }
  }
  return result;
}

/** `CLIENT LIST ID <id>` on a short-lived duplicate of the client (same address, credentials, TLS). */
async function askServer(client: AnyClient, id: string, timeoutMs: number): Promise<string> {
  const side = client.duplicate({
    socket: { ...client.options?.socket, reconnectStrategy: false, connectTimeout: timeoutMs },
    pingInterval: undefined,
    clientSideCache: undefined,
  });
  side.on('error', () => {});
  try {
    const answer = Promise.race([
      side.connect().then(() => side.sendCommand(['CLIENT', 'LIST', 'ID', id])),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), timeoutMs).unref()),
    ]);
    return String(await answer);
  } finally {
    side.destroy();
  }
}

/** Puts lifeline on a node-redis client: its sockets watched, its commands sent again only when safe. */
function attach(client: AnyClient, options: ResolvedRedisLifelineOptions, driverOptions: object): AnyClient {
  const socketOptions = client.options?.socket;
  const state: ClientState = {
    options,
    conn: undefined,
    pending: 0,
    endpoint: socketOptions?.path ?? `${socketOptions?.host ?? 'localhost'}:${socketOptions?.port ?? 6379}`,
    gapSince: undefined,
    gapCause: 'unknown',
    subscribedAtDeath: false,
    settled: (value) => {
      if (--state.pending === 0) state.conn?.drained();
      return value;
    },
  };
  watchClientSockets();
  const channels = (): boolean => client.isPubSubActive;
  client.on('connect', () => {
    const socket = takeConnectedSocket();
    if (socket === undefined) return;
    // pingInterval sends PINGs lifeline does not see settle: their replies must not count as idle data.
    const pinned = channels() || Reflect.get(driverOptions, 'pingInterval') !== undefined;
    const conn = new WatchedConnection(socket, options, pinned, (end) => {
      state.endpoint = end.endpoint;
      if (client.isPubSubActive && state.gapSince === undefined) {
        state.gapSince = Date.now();
        state.gapCause = end.cause;
      }
    });
    conn.countWrites(socket);
    state.conn = conn;
    state.endpoint = conn.live.endpoint;
    if (options.replyOverdueMs > 0) {
      verifyOverdueReplies(
        conn.live,
        options.replyOverdueMs,
        (id) => askServer(client, id, options.replyOverdueMs),
        () => conn.clientId,
        () => conn.pinned || conn.clientIdRefused,
      );
    }
  });
  client.on('ready', () => {
    const conn = state.conn;
    if (state.gapSince !== undefined && client.isPubSubActive) {
      // node-redis resubscribes before 'ready': the gap ends here.
      client.emit('subscriptionGap', { durationMs: Date.now() - state.gapSince, cause: state.gapCause });
      state.gapSince = undefined;
    }
    if (conn !== undefined && options.replyOverdueMs > 0 && !client.isPubSubActive) {
      // asap: ahead of commands queued while connecting, so nothing blocking (BLPOP) delays the id. Counted
      // in `pending` like a caller's command, so the connection is idle again once it is answered.
      if (state.pending++ === 0) conn.sent();
      client.sendCommand(['CLIENT', 'ID'], { asap: true }).then(
        (id: unknown) => {
          state.settled(id);
          conn.clientId = String(id);
        },
        (error: unknown) => {
          if (--state.pending === 0) state.conn?.drained();
          // The server refused it (an ACL without CLIENT): this connection's replies cannot be verified.
          if (error instanceof driver.ErrorReply) conn.clientIdRefused = true;
        },
      );
    }
    if (client.isPubSubActive) conn?.pin();
  });
  return wrapClient(client, state, driverOptions);
}

/** node-redis's own default for its generic parameters (modules, functions, scripts, type mapping). */
// biome-ignore lint/complexity/noBannedTypes: the same default as node-redis's types, so the client types match
export type Empty = {};

/** node-redis's options plus lifeline's, under `lifeline`. */
export type LifelineRedisClientOptions<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
> = RedisClientOptions<M, F, S, RESP, TYPE_MAPPING> & { lifeline?: RedisLifelineOptions };

/**
 * node-redis's createClient, with lifeline put in: a LiveSocket on every connection, a command that lost its
 * connection sent again when that is safe (read-only or idempotent) instead of failing, typed errors for the
 * rest, the gap of a subscriber's resubscription reported ('subscriptionGap').
 */
export function createClient<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
>(
  options?: LifelineRedisClientOptions<M, F, S, RESP, TYPE_MAPPING>,
): RedisClientType<M, F, S, RESP, TYPE_MAPPING> {
  const { lifeline, ...driverOptions } = options ?? {};
  const resolved = resolveLifelineOptions('createClient', lifeline);
  const client = driver.createClient(driverOptions as RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>);
  return attach(client as unknown as AnyClient, resolved, driverOptions) as unknown as RedisClientType<
    M,
    F,
    S,
    RESP,
    TYPE_MAPPING
  >;
}
