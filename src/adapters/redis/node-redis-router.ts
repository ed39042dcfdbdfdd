// node-redis's createCluster and createSentinel made lifeline's: safe commands sent again, unsafe ones typed, every node socket watched.
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import type {
  RedisClusterOptions,
  RedisClusterType,
  RedisFunctions,
  RedisModules,
  RedisScripts,
  RedisSentinelOptions,
  RedisSentinelType,
  RespVersions,
  TypeMapping,
} from 'redis';
import { isSafeToResend } from '../../protocols/redis-commands.js';
import { LiveSocket } from '../../socket/index.js';
import { WatchedConnection } from './connection.js';
import { RedisOutcomeUnknownError } from './errors.js';
import {
  type AnyClient,
  type ClientState,
  driver,
  type Empty,
  isConnectionLoss,
  run,
  wrapMulti,
} from './node-redis.js';
import { isCommandMethod, redisArgs } from './node-redis-commands.js';
import {
  type RedisLifelineOptions,
  type ResolvedRedisLifelineOptions,
  resolveLifelineOptions,
} from './options.js';

/**
 * A cluster or a sentinel builds its node clients itself, out of reach (private fields). Every call into it
 * through lifeline runs inside an AsyncLocalStorage context naming it; a socket Node creates in that context
 * (net.client.socket diagnostics channel), or in a timer or socket event descending from it (reconnection,
 * topology scans), belongs to it and is watched once connected. lifeline does not see which node a command went
 * to, so these connections are watched as "pinned": FIN, reset, write stall, keepalive and TCP_USER_TIMEOUT
 * end them; idle data is allowed and replies are not verified (docs/redis.md).
 */
interface RouterWatch {
  options: ResolvedRedisLifelineOptions;
  state: ClientState;
  /** The arguments of the command method being called right now (null: not known), read by `_execute`. */
  current: string[] | null | undefined;
}

const contexts = new AsyncLocalStorage<RouterWatch>();
let listening = false;

function onClientSocket(message: unknown): void {
  const watch = contexts.getStore();
  if (watch === undefined) return;
  const socket: unknown =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'socket') : undefined;
  if (!(socket instanceof net.Socket)) return;
  socket.once('connect', () => {
    if (socket.destroyed || LiveSocket.of(socket) !== undefined) return;
    try {
      new WatchedConnection(socket, watch.options, true, (end) => {
        watch.state.endpoint = end.endpoint;
      });
    } catch (error) {
      socket.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function newState(options: ResolvedRedisLifelineOptions, endpoint: string): ClientState {
  const state: ClientState = {
    options,
    conn: undefined,
    pending: 0,
    endpoint,
    gapSince: undefined,
    gapCause: 'unknown',
    subscribedAtDeath: false,
    settled: (value) => value,
  };
  return state;
}

/** The lifeline view of a cluster or sentinel (or of one of its `with…()` views). */
function wrapRouter(
  router: AnyClient,
  watch: RouterWatch,
  rewrap: (duplicate: AnyClient) => AnyClient,
): AnyClient {
  const { state } = watch;
  const cache = new Map<string, unknown>();
  const view: AnyClient = new Proxy(router, {
    get(target, property) {
      const cached = typeof property === 'string' ? cache.get(property) : undefined;
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapped: (...args: unknown[]) => unknown;
      if (isCommandMethod(property)) {
        const call = function (this: unknown, ...args: unknown[]): unknown {
          watch.current = redisArgs(property, args) ?? null;
          try {
            return Reflect.apply(value, this, args);
          } finally {
            watch.current = undefined;
          }
        };
        wrapped = (...args: unknown[]) => contexts.run(watch, () => run(state, target, property, call, args));
      } else if (property === 'multi' || property === 'MULTI') {
        wrapped = (...args: unknown[]) =>
          wrapMulti(state, target, () =>
            contexts.run(watch, () => Reflect.apply(value, target, args) as AnyClient),
          );
      } else if (property === 'duplicate') {
        wrapped = (...args: unknown[]) => rewrap(Reflect.apply(value, target, args) as AnyClient);
      } else {
        wrapped = (...args: unknown[]) => {
          const result: unknown = contexts.run(watch, () => Reflect.apply(value, target, args));
          if (result === target) return view;
          if (result instanceof Promise) return result.then((v: unknown) => (v === target ? view : v));
          // withTypeMapping(), withCommandOptions(): a new view over the same router.
          if (property.startsWith('with') && typeof result === 'object' && result !== null) {
            return wrapRouter(result as AnyClient, watch, rewrap);
          }
          return result;
        };
      }
      cache.set(property, wrapped);
      return wrapped;
    },
  }) as AnyClient;
  return view;
}

/**
 * node-redis's sentinel client runs a command again, whatever it is, when it failed while the master's client
 * was not ready — a lost connection — (RedisSentinelInternal.execute: "rediscover and retry"): an INCR whose
 * reply was lost is applied twice (measured: test/adapters/redis/sentinel.test.ts). Its `_execute` gets a
 * guarded function: after a connection loss, a second run of a command that is not safe to send twice is
 * refused with OutcomeUnknownError instead. Safe commands, and retries after READONLY (nothing applied), go on.
 */
function guardDriverResends(router: AnyClient, watch: RouterWatch): void {
  const self = (Reflect.get(router, '_self') ?? router) as Record<string, unknown>;
  const original = self._execute;
  if (typeof original !== 'function') return;
  Object.defineProperty(self, '_execute', {
    configurable: true,
    writable: true,
    value(this: unknown, isReadonly: unknown, fn: (client: unknown) => Promise<unknown>, ...rest: unknown[]) {
      const sent = watch.current;
      watch.current = undefined;
      const name = sent?.[0]?.toLowerCase() ?? 'command';
      const safe = sent != null && isSafeToResend(name, sent.slice(1), watch.options.idempotent);
      let lost: unknown;
      const guarded = async (client: unknown): Promise<unknown> => {
        if (lost !== undefined && !safe) throw new RedisOutcomeUnknownError(name, watch.state.endpoint, lost);
        try {
          return await fn(client);
        } catch (error) {
          if (isConnectionLoss(error)) lost = error;
          throw error;
        }
      };
      return Reflect.apply(original, this, [isReadonly, guarded, ...rest]);
    },
  });
}

function attachRouter(router: AnyClient, options: ResolvedRedisLifelineOptions, endpoint: string): AnyClient {
  if (!listening) {
    listening = true;
    diagnosticsChannel.subscribe('net.client.socket', onClientSocket);
  }
  const watch: RouterWatch = { options, state: newState(options, endpoint), current: undefined };
  guardDriverResends(router, watch);
  const rewrap = (duplicate: AnyClient): AnyClient => attachRouter(duplicate, options, endpoint);
  return wrapRouter(router, watch, rewrap);
}

/** node-redis's cluster options plus lifeline's, under `lifeline`. */
export type LifelineRedisClusterOptions<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
> = RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING> & { lifeline?: RedisLifelineOptions };

/** node-redis's sentinel options plus lifeline's, under `lifeline`. */
export type LifelineRedisSentinelOptions<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
> = RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING> & { lifeline?: RedisLifelineOptions };

function describeNode(node: unknown): string {
  if (typeof node !== 'object' || node === null) return 'cluster';
  const socket = Reflect.get(node, 'socket') as { host?: unknown; port?: unknown } | undefined;
  const url = Reflect.get(node, 'url');
  if (socket?.host !== undefined || socket?.port !== undefined) {
    return `${String(socket.host ?? 'localhost')}:${String(socket.port ?? 6379)}`;
  }
  // A URL may carry a password: only its host part is kept.
  if (typeof url === 'string') {
    try {
      return new URL(url).host;
    } catch {}
  }
  return 'cluster';
}

/**
 * node-redis's createCluster, with lifeline put in: a command that lost its node connection is sent again
 * through the cluster (routed afresh) when that is safe, fails with OutcomeUnknownError when not; MOVED and
 * ASK stay node-redis's; every node socket is watched by a LiveSocket.
 */
export function createCluster<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
>(
  options: LifelineRedisClusterOptions<M, F, S, RESP, TYPE_MAPPING>,
): RedisClusterType<M, F, S, RESP, TYPE_MAPPING> {
  const { lifeline, ...driverOptions } = options ?? ({} as typeof options);
  const resolved = resolveLifelineOptions('createCluster', lifeline);
  const cluster = driver.createCluster(driverOptions as RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING>);
  const first = (driverOptions as { rootNodes?: unknown[] }).rootNodes?.[0];
  return attachRouter(
    cluster as unknown as AnyClient,
    resolved,
    describeNode(first),
  ) as unknown as RedisClusterType<M, F, S, RESP, TYPE_MAPPING>;
}

/**
 * node-redis's createSentinel, with lifeline put in: a command that lost its connection to the master (or a
 * replica) is sent again when that is safe, fails with OutcomeUnknownError when not; every socket the
 * sentinel client opens (to the sentinels and to the nodes) is watched by a LiveSocket.
 */
export function createSentinel<
  M extends RedisModules = Empty,
  F extends RedisFunctions = Empty,
  S extends RedisScripts = Empty,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = Empty,
>(
  options: LifelineRedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING>,
): RedisSentinelType<M, F, S, RESP, TYPE_MAPPING> {
  const { lifeline, ...driverOptions } = options ?? ({} as typeof options);
  const resolved = resolveLifelineOptions('createSentinel', lifeline);
  const sentinel = driver.createSentinel(driverOptions as RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING>);
  const name = (driverOptions as { name?: unknown }).name;
  return attachRouter(
    sentinel as unknown as AnyClient,
    resolved,
    `sentinel master ${String(name)}`,
  ) as unknown as RedisSentinelType<M, F, S, RESP, TYPE_MAPPING>;
}
