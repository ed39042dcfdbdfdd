// ioredis made lifeline's: a watched connection, and in-flight commands re-sent only when safe.

import net from 'node:net';
import type { Redis as IORedis, RedisOptions } from 'ioredis';
import { brand } from '../../core/brand.js';
import { type DisagreementMessage, driverDisagreementChannel } from '../../core/channels.js';
import type { DeathCause } from '../../socket/index.js';
import { WatchedConnection } from './connection.js';
import { loadDriver } from './load.js';
import {
  type RedisLifelineOptions,
  type ResolvedRedisLifelineOptions,
  resolveLifelineOptions,
} from './options.js';
import {
  type CommandDeque,
  type DriverCommand,
  failAll,
  IDEMPOTENT,
  keepSafeUnits,
  type QueuedCommand,
} from './resend.js';
import { ioredisSubscribed, SubscriptionWatch } from './subscriptions.js';
import { verifyOverdueReplies } from './verify.js';

/** ioredis's options plus lifeline's, under `lifeline`. */
export type LifelineRedisOptions = RedisOptions & { lifeline?: RedisLifelineOptions };

type IORedisClass = typeof IORedis;

/** The parts of ioredis's instance that are private in its types and that lifeline works with. */
interface Internals {
  status: string;
  options: LifelineRedisOptions;
  condition: { select: number; subscriber: unknown; protocol?: number } | null;
  prevCondition: { subscriber: unknown } | null;
  commandQueue: CommandDeque;
  offlineQueue: CommandDeque;
  prevCommandQueue: CommandDeque | null;
  client(...args: unknown[]): Promise<unknown>;
  emit(event: string, ...args: unknown[]): boolean;
}

/** lifeline's state on one client, kept under a symbol (ioredis's constructor runs before ours ends). */
interface State {
  options: ResolvedRedisLifelineOptions;
  userLazy: boolean;
  constructing: boolean;
  stream: net.Socket | undefined;
  conn: WatchedConnection | undefined;
  /** The last connection's death, for typed errors on the commands it took down. */
  lastCause: unknown;
  endpoint: string;
  /** redis.idempotent().cmd(…): the next command written is declared idempotent. */
  nextIdempotent: boolean;
  /** Arguments of the last CLIENT TRACKING ON, replayed on every new connection. */
  tracking: unknown[] | undefined;
  subscriptions: SubscriptionWatch;
}

const STATE = Symbol('lifeline.ioredis');
type WithState = { [STATE]?: State };

const PIN = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'monitor']);

function stateOf(client: object): State {
  const state = (client as WithState)[STATE];
  if (state === undefined) throw new TypeError('not a lifeline-net/redis client');
  return state;
}

const IORedisBase = loadDriver<{ Redis: IORedisClass }>('ioredis', 'Redis').Redis;

/**
 * ioredis's Redis, with lifeline put in where the driver decides: a LiveSocket on every connection, commands
 * lost in flight sent again only when that is safe, typed errors, subscriptions' gaps reported, session state
 * (client name, database, tracking, subscriptions) restored on each new connection.
 */
export class Redis extends IORedisBase {
  constructor(port: number, host: string, options: LifelineRedisOptions);
  constructor(path: string, options: LifelineRedisOptions);
  constructor(port: number, options: LifelineRedisOptions);
  constructor(port: number, host: string);
  constructor(options: LifelineRedisOptions);
  constructor(port: number);
  constructor(path: string);
  constructor();
  constructor(arg1?: unknown, arg2?: unknown, arg3?: unknown) {
    super(arg1 as number, arg2 as string, arg3 as never);
    const state = stateOf(this);
    state.constructing = false;
    const self = this as unknown as Internals;
    self.options.lazyConnect = state.userLazy;
    if (!state.userLazy) this.connect().catch(() => {});
  }

  /**
   * A view of this client whose next command (called on the view) is declared idempotent: sent again after a
   * lost connection even when lifeline's table says it may not be (`redis.idempotent().incrby('k', 0)`).
   */
  idempotent(): this {
    const state = stateOf(this);
    return new Proxy(this, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          state.nextIdempotent = true;
          try {
            return Reflect.apply(value, target, args);
          } finally {
            state.nextIdempotent = false;
          }
        };
      },
    });
  }

  override sendCommand(
    command: Parameters<IORedis['sendCommand']>[0],
    stream?: Parameters<IORedis['sendCommand']>[1],
  ): unknown {
    const state = stateOf(this);
    const cmd = command as unknown as DriverCommand;
    if (state.nextIdempotent) cmd[IDEMPOTENT] = true;
    const self = this as unknown as Internals;
    const queue = self.commandQueue;
    const before = queue.length;
    const promise = super.sendCommand(command, stream);
    if (self.commandQueue === queue && queue.length > before) {
      const conn = state.conn;
      conn?.sent();
      const name = cmd.name.toLowerCase();
      if (PIN.has(name)) conn?.pin();
      if (name === 'client') this.#sessionCommand(state, cmd, promise as Promise<unknown>);
      state.subscriptions.written(name, promise as Promise<unknown>);
    }
    return promise;
  }

  /** CLIENT SETNAME and CLIENT TRACKING change the session; remembered once the server accepted them. */
  #sessionCommand(state: State, cmd: DriverCommand, promise: Promise<unknown>): void {
    const [sub, ...rest] = cmd.args.map((arg) => (Buffer.isBuffer(arg) ? arg.toString() : String(arg)));
    const self = this as unknown as Internals;
    const lower = sub?.toLowerCase();
    if (lower === 'tracking') {
      const on = rest[0]?.toLowerCase() === 'on';
      if (on) state.conn?.pin();
      promise.then(
        () => {
          state.tracking = on ? cmd.args.slice(1) : undefined;
        },
        () => {},
      );
    } else if (lower === 'setname' && rest[0] !== undefined) {
      const name = rest[0];
      promise.then(
        () => {
          self.options.connectionName = name;
        },
        () => {},
      );
    }
  }
}
brand(Redis, 'redis.Redis');

/**
 * `CLIENT LIST ID <id>` on a short-lived plain ioredis connection with the client's own address, credentials
 * and TLS settings; bounded by `timeoutMs` for connecting and for the answer.
 */
async function askServer(options: LifelineRedisOptions, id: string, timeoutMs: number): Promise<string> {
  const { lifeline: _ignored, ...driverOptions } = options;
  const side = new IORedisBase({
    ...driverOptions,
    lazyConnect: true,
    connectionName: undefined,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    autoResubscribe: false,
    monitor: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  side.on('error', () => {});
  try {
    await side.connect();
    return String(await side.call('client', 'list', 'id', id));
  } finally {
    side.disconnect();
  }
}

const proto = Redis.prototype as unknown as Record<string, unknown>;
const baseProto = IORedisBase.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;

/** ioredis's private methods lifeline hooks, called with the driver's own arguments. */
function hook(
  name: string,
  replacement: (
    this: Internals & WithState,
    original: (...args: unknown[]) => unknown,
    ...args: unknown[]
  ) => unknown,
): void {
  const original = baseProto[name];
  // Without ioredis installed the class is a stand-in that throws RedisDriverMissingError when constructed.
  if (typeof original !== 'function') return;
  Object.defineProperty(proto, name, {
    configurable: true,
    writable: true,
    value(this: Internals & WithState, ...args: unknown[]) {
      return replacement.call(this, original, ...args);
    },
  });
}

// Runs inside ioredis's constructor, before any connection: lifeline's state exists from the start, and the
// connection is opened by our constructor (lazyConnect forced here, the caller's choice kept).
hook('parseOptions', function (original, ...args) {
  original.apply(this, args);
  const options = this.options;
  const resolved = resolveLifelineOptions('Redis', options.lifeline);
  const state: State = {
    options: resolved,
    userLazy: options.lazyConnect === true,
    constructing: true,
    stream: undefined,
    conn: undefined,
    lastCause: undefined,
    endpoint: options.path ?? `${options.host ?? 'localhost'}:${options.port ?? 6379}`,
    nextIdempotent: false,
    tracking: undefined,
    subscriptions: new SubscriptionWatch((gap) => this.emit('subscriptionGap', gap)),
  };
  Object.defineProperty(this, STATE, { value: state, enumerable: false });
  options.lazyConnect = true;
});

hook('setStatus', function (original, status, arg) {
  const state = stateOf(this);
  if (status === 'wait' && state.constructing && !state.userLazy) {
    // The caller did not ask for lazyConnect: no 'wait' event, as with ioredis.
    this.status = 'wait';
    return;
  }
  const { idempotent } = state.options;
  if (status === 'close' && this.status === 'ready') {
    // Before ioredis keeps the unanswered commands to send them again: only the safe ones stay.
    keepSafeUnits(this.commandQueue, idempotent, state.endpoint, state.lastCause);
  } else if (status === 'end') {
    const cause = state.lastCause ?? new Error('connection closed');
    failAll(this.prevCommandQueue, true, idempotent, state.endpoint, cause);
    failAll(this.commandQueue, true, idempotent, state.endpoint, cause);
    failAll(this.offlineQueue, false, idempotent, state.endpoint, cause);
  }
  original.call(this, status, arg);
  if (status === 'ready') {
    state.subscriptions.ready();
    const conn = state.conn;
    if (
      conn !== undefined &&
      state.options.replyOverdueMs > 0 &&
      !conn.pinned &&
      !this.condition?.subscriber
    ) {
      this.client('id').then(
        (id) => {
          conn.clientId = String(id);
        },
        (error: unknown) => {
          // The server refused it (an ACL without CLIENT): this connection's replies cannot be verified.
          if (error instanceof Error && error.name === 'ReplyError') conn.clientIdRefused = true;
        },
      );
    }
    if (state.tracking !== undefined && !this.condition?.subscriber) {
      this.client('tracking', ...state.tracking).catch((error: unknown) => this.emit('error', error));
    }
  }
});

hook('resetCommandQueue', function (original) {
  original.call(this);
  const queue = this.commandQueue as CommandDeque & { shift(): QueuedCommand | undefined };
  const shift = queue.shift;
  const state = stateOf(this);
  queue.shift = function (this: typeof queue) {
    const item = shift.call(this);
    if (this.length === 0) state.conn?.drained();
    return item;
  };
});

// duplicate() keeps the class (ioredis's builds a plain ioredis Redis) and the caller's lazyConnect.
hook('duplicate', function (_original, override) {
  const Own = (this as unknown as { constructor: new (options: LifelineRedisOptions) => unknown })
    .constructor;
  return new Own({
    ...this.options,
    lazyConnect: stateOf(this).userLazy,
    ...(override as object | undefined),
  });
});

// ioredis assigns `this.stream` once per connection, before it listens to the socket: lifeline wraps it then.
Object.defineProperty(proto, 'stream', {
  configurable: true,
  get(this: WithState) {
    return this[STATE]?.stream;
  },
  set(this: Internals & WithState, socket: net.Socket | undefined) {
    const state = stateOf(this);
    state.stream = socket;
    // A custom Connector may hand ioredis any duplex stream: only a TCP/TLS socket can be watched.
    if (!(socket instanceof net.Socket)) return;
    // RESP3 alone sends nothing unasked: push frames come with subscriptions and tracking, which pin.
    const pinned = this.options.monitor === true;
    try {
      const conn = new WatchedConnection(socket, state.options, pinned, (end) => {
        state.lastCause = end.error;
        state.endpoint = end.endpoint;
        // observe's disagreement counter: lifeline knows the socket is dead while ioredis still says ready.
        if (this.status === 'ready' && driverDisagreementChannel.hasSubscribers) {
          const message: DisagreementMessage = {
            driver: 'ioredis',
            flag: 'status=ready',
            endpoint: end.endpoint,
          };
          driverDisagreementChannel.publish(message);
        }
        state.subscriptions.died(ioredisSubscribed(this.condition?.subscriber), end.cause as DeathCause);
      });
      state.conn = conn;
      state.endpoint = conn.live.endpoint;
      const overdueMs = state.options.replyOverdueMs;
      if (overdueMs > 0) {
        verifyOverdueReplies(
          conn.live,
          overdueMs,
          (id) => askServer(this.options, id, overdueMs),
          () => conn.clientId,
          () => conn.pinned || conn.clientIdRefused,
        );
      }
    } catch (error) {
      socket.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  },
});

export type { Redis as default };
