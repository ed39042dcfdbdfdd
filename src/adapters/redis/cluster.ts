// ioredis's Cluster made lifeline's: every node connection is a lifeline Redis, and what a lost node gave back safely is routed again.
import net from 'node:net';
import type { ClusterNode, ClusterOptions, Cluster as IOCluster } from 'ioredis';
import { brand } from '../../core/brand.js';
import { LiveSocket } from '../../socket/index.js';
import { Redis } from './ioredis.js';
import { loadDriver } from './load.js';
import { type RedisLifelineOptions, resolveLifelineOptions } from './options.js';

/** ioredis's Cluster options plus lifeline's, under `lifeline` (applied to every node connection). */
export type LifelineClusterOptions = ClusterOptions & { lifeline?: RedisLifelineOptions };

type IOClusterClass = typeof IOCluster;

/** ioredis's node options as its ConnectionPool builds them (host, port, readOnly and the redisOptions). */
type NodeOptions = Record<string, unknown>;

/** The parts of ioredis's Cluster that are private in its types and that lifeline works with. */
interface ClusterInternals {
  status: string;
  manuallyClosing?: boolean;
  options: LifelineClusterOptions & { retryDelayOnFailover?: number; maxRedirections?: number };
  delayQueue: {
    push(bucket: string, item: () => void, options: { timeout: number; callback?: unknown }): void;
  };
  refreshSlotsCache(callback?: unknown): void;
  natMapper(key: string): { host: string; port: number };
  connectionPool: {
    redisOptions: NodeOptions;
    clusterNodeRetryStrategy: unknown;
    hooks: { onCreate?: (redis: unknown, readOnly: boolean) => void };
    createRedisFromOptions(node: NodeOptions, readOnly: boolean): unknown;
  };
  subscriber: { selectSubscriber?: () => void; getInstance?: () => unknown };
}

interface Handlers {
  connectionClosed: () => void;
  defaults: () => void;
}

/** How many times each command (its redirection counter object) came back from a lost node connection. */
const lossCounts = new WeakMap<object, number>();

const IOClusterBase = loadDriver<{ Cluster: IOClusterClass }>('ioredis', 'Cluster').Cluster;

/** lodash's `defaults`, as ioredis merges node options: the first source that sets a key wins. */
function firstSet(...sources: (NodeOptions | undefined)[]): NodeOptions {
  const out: NodeOptions = {};
  for (const source of sources) {
    if (source === undefined) continue;
    for (const [key, value] of Object.entries(source)) if (out[key] === undefined) out[key] = value;
  }
  return out;
}

/**
 * A connection loss that a lifeline node handed back as safe to send again: RedisConnectionClosedError is what
 * a node gives for a command never sent, or sent and read-only/idempotent (unsafe ones are outcome-unknown).
 * ioredis's pipelines pass a `{ name, message }` copy, hence the name test.
 */
function isSafeLoss(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'RedisConnectionClosedError'
  );
}

/**
 * ioredis records a MOVED target in its slot table as the server wrote it, not through `natMap`: the slot then
 * names a node the pool does not hold, and every retry goes to a random node, which answers MOVED again, until
 * `maxRedirections` runs out (seen here with a node unreachable for 300 ms). The address is mapped first.
 */
function natMapped(cluster: ClusterInternals, error: Error): Error {
  const [kind, slot, address] = error.message.split(' ');
  if (kind !== 'MOVED' || address === undefined || cluster.options.natMap === undefined) return error;
  const mapped = cluster.natMapper(address);
  const key = `${mapped.host}:${mapped.port}`;
  if (key === address) return error;
  const copy = Object.create(error) as Error;
  Object.defineProperty(copy, 'message', { value: `MOVED ${slot} ${key}` });
  return copy;
}

/**
 * ioredis's Cluster with lifeline put in: every node connection is a lifeline `Redis` (LiveSocket, lost-reply
 * verification, in-flight commands judged safe or outcome-unknown), a safe command whose node connection died
 * is routed again once the slot table is refreshed (INCR is not: OutcomeUnknownError), MOVED/ASK are followed
 * as ioredis does. The subscriber connection gets a LiveSocket that allows idle data.
 */
export class Cluster extends IOClusterBase {
  constructor(startupNodes: ClusterNode[], options: LifelineClusterOptions = {}) {
    const lifeline =
      options.lifeline ?? (options.redisOptions as { lifeline?: RedisLifelineOptions })?.lifeline;
    const resolved = resolveLifelineOptions('Cluster', lifeline);
    const userLazy = options.lazyConnect === true;
    const { lifeline: _own, ...rest } = options;
    super(startupNodes, {
      ...rest,
      lazyConnect: true,
      redisOptions: { ...rest.redisOptions, lifeline } as never,
    });
    const self = this as unknown as ClusterInternals;
    self.options.lazyConnect = userLazy;
    const pool = self.connectionPool;
    // ioredis's pool builds a plain ioredis Redis per node; the same merge of options, a lifeline Redis.
    pool.createRedisFromOptions = function (node: NodeOptions, readOnly: boolean) {
      const strategy = this.clusterNodeRetryStrategy;
      const redis = new Redis(
        firstSet(
          {
            retryStrategy: typeof strategy === 'function' ? strategy : null,
            enableOfflineQueue: true,
            readOnly,
          },
          node,
          this.redisOptions,
          { lazyConnect: true },
        ) as never,
      );
      this.hooks.onCreate?.(redis, readOnly);
      return redis;
    };
    watchSubscriber(self, resolved.socket);
    if (!userLazy) this.connect().catch(() => {});
  }

  /**
   * ioredis's redirection and retry decisions, plus one: a command a lifeline node gave back as safe to send
   * again (never sent, or read-only/idempotent) waits for the refreshed slot table and is routed again, even
   * while the cluster reconnects — bounded by `maxRedirections`, as ioredis bounds its own retries.
   */
  override handleError(error: Error, ttl: { value?: number }, handlers: Handlers): void {
    const self = this as unknown as ClusterInternals;
    const closing = self.manuallyClosing === true || self.status === 'end' || self.status === 'disconnecting';
    if (!isSafeLoss(error) || closing) {
      (IOClusterBase.prototype as unknown as { handleError: Cluster['handleError'] }).handleError.call(
        this,
        natMapped(self, error),
        ttl,
        handlers,
      );
      return;
    }
    // A lost connection is not a redirection: the redirection count starts again after it, and the losses of
    // one command are counted on their own, each retry waiting twice as long (up to 2 s).
    const losses = (lossCounts.get(ttl) ?? 0) + 1;
    lossCounts.set(ttl, losses);
    ttl.value = undefined;
    if (losses > (self.options.maxRedirections ?? 16)) {
      handlers.defaults();
      return;
    }
    const base = self.options.retryDelayOnFailover ?? 100;
    self.delayQueue.push(`lifeline-loss-${losses}`, handlers.connectionClosed, {
      timeout: Math.min(base * 2 ** (losses - 1), 2000),
      callback: self.refreshSlotsCache.bind(this),
    });
  }
}
brand(Cluster, 'redis.Cluster');

// ioredis's duplicate() builds its own class; this one stays lifeline's (same merge of options as ioredis).
Object.defineProperty(Cluster.prototype, 'duplicate', {
  configurable: true,
  writable: true,
  value(
    this: ClusterInternals & { startupNodes: ClusterNode[] },
    overrideNodes: ClusterNode[] = [],
    overrideOptions: LifelineClusterOptions = {},
  ) {
    const nodes = overrideNodes.length > 0 ? overrideNodes : this.startupNodes.slice(0);
    const options: LifelineClusterOptions = { ...this.options, ...overrideOptions };
    if (this.options.redisOptions && overrideOptions.redisOptions) {
      options.redisOptions = { ...this.options.redisOptions, ...overrideOptions.redisOptions } as never;
    }
    return new Cluster(nodes, options);
  },
});

/** The events ioredis's ClusterSubscriber forwards from its connection to the Cluster's listeners. */
const MESSAGE_EVENTS = [
  'message',
  'messageBuffer',
  'pmessage',
  'pmessageBuffer',
  'smessage',
  'smessageBuffer',
];

interface SubscriberConnection {
  once(event: string, fn: () => void): void;
  removeAllListeners(event: string): void;
  stream?: unknown;
}

/**
 * ioredis's cluster subscriber connection is a plain ioredis Redis made inside ioredis: lifeline watches its
 * socket once connected (idle data allowed: messages arrive unasked). When the LiveSocket declares it dead the
 * socket is destroyed, ioredis picks another subscriber node and subscribes again.
 *
 * When ioredis replaces a subscriber that is still connected (its node left the pool: the cluster's data
 * connection to that node ended), it ends the old one gracefully and subscribes on a new one at once. Until
 * the node has read the old one's FIN, the node keeps sending it every message, which ioredis still forwarded
 * to the Cluster's listeners: each message published in that window reached them twice (seen under load;
 * test/adapters/redis/cluster.test.ts holds the FIN with a fault proxy). A replaced connection forwards
 * nothing, as ioredis's own ShardedSubscriber.stop() already does for sharded subscribers (it removes every
 * listener): a message only the old connection had read is dropped, as Redis pub/sub drops messages across
 * any reconnection, but none is delivered twice.
 */
function watchSubscriber(
  cluster: ClusterInternals,
  socketOptions: ReturnType<typeof resolveLifelineOptions>['socket'],
): void {
  const subscriber = cluster.subscriber as ClusterInternals['subscriber'] & {
    lastActiveSubscriber?: SubscriberConnection;
  };
  const select = subscriber.selectSubscriber;
  const getInstance = subscriber.getInstance;
  if (typeof select !== 'function' || typeof getInstance !== 'function') return;
  subscriber.selectSubscriber = function (this: typeof subscriber) {
    const replaced = [this.lastActiveSubscriber, getInstance.call(this) as SubscriberConnection | null];
    select.call(this);
    const instance = getInstance.call(this) as SubscriberConnection | null | undefined;
    for (const old of new Set(replaced)) {
      if (old && old !== instance) for (const event of MESSAGE_EVENTS) old.removeAllListeners(event);
    }
    instance?.once('connect', () => {
      const stream = instance.stream;
      if (stream instanceof net.Socket && LiveSocket.of(stream) === undefined && !stream.destroyed) {
        LiveSocket.wrap(stream, { ...socketOptions, idleData: 'allow', readTimeoutMs: 0 });
      }
    });
  };
}

export type { Cluster as default };
