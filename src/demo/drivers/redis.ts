// The demo's Redis driver: `lifeline demo --driver redis`. The target is the machine's Redis
// (redis://127.0.0.1:6379) or the server at --url; the workload is a GET of an item and an RPUSH of a unique
// id to a list per side and run; writes are counted on a direct connection after the run.
//
// naive: ioredis as most services run it — the defaults (it re-sends commands that were in flight when the
// connection dropped) and the usual retry loop around writes. Its 'error' events are not counted: ioredis
// only logs them when nobody listens, so they are no crash risk.
//
// lifeline: lifeline-net/redis's Redis as its docs suggest: short keepalive and user timeout, lost replies
// verified after 1 s, a command timeout as the op's deadline. Reads are re-sent by lifeline after a loss;
// a write whose outcome is unknown is reported, never silently re-sent.

import { Redis as PlainRedis } from 'ioredis';
import { Redis } from '../../adapters/redis/index.js';
import { redact } from '../../core/errors.js';
import {
  checkServerUrl,
  type DemoDriver,
  type DemoTarget,
  type PoolSample,
  type Side,
  type SideOptions,
  serverProblem,
  throughProxy,
  upstreamOf,
  type WriteAudit,
} from '../driver.js';
import { CauseCounts, countExecRetries } from '../metrics.js';
import { SCENARIOS } from '../scenarios.js';
import { ITEMS } from '../workload.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const itemKey = (key: number): string => `lifeline:demo:item:${key}`;
const writesKey = (runId: string, side: string): string => `lifeline:demo:writes:${runId}:${side}`;
const NAIVE_WRITE_ATTEMPTS = 3;

/**
 * For the report's pool charts: a client's one connection (in use while commands await replies), commands
 * queued while it is down, and its closes under the error that preceded each.
 */
function connectionSampler(redis: PlainRedis): (retries: number) => PoolSample {
  const deaths = new CauseCounts();
  let cause = 'closed';
  redis.on('error', (error: NodeJS.ErrnoException) => {
    cause = error.code ?? error.message;
  });
  redis.on('close', () => {
    deaths.add(cause);
    cause = 'closed';
  });
  const queues = redis as unknown as Record<'commandQueue' | 'offlineQueue', { length: number }>;
  return (retries) => {
    const open = redis.status === 'ready' ? 1 : 0;
    const used = open === 1 && queues.commandQueue.length > 0 ? 1 : 0;
    return { used, idle: open - used, pending: queues.offlineQueue.length, deaths: deaths.counts, retries };
  };
}

function naiveSide(url: string, options: SideOptions): Side {
  const redis = new PlainRedis(url);
  // Not counted as 'error' events: without a listener ioredis logs them (silentEmit), it never crashes.
  redis.on('error', () => {});
  const sample = connectionSampler(redis);
  let retries = 0;
  const list = writesKey(options.runId, 'naive');
  return {
    name: 'naive',
    maxOpMs: undefined,
    app: {
      async read(key) {
        await redis.get(itemKey(key));
      },
      async write(id) {
        for (let attempt = 1; ; attempt++) {
          try {
            await redis.rpush(list, String(id));
            return;
          } catch (error) {
            if (attempt >= NAIVE_WRITE_ATTEMPTS) throw error;
            retries++;
          }
        }
      },
    },
    close: async () => {
      redis.disconnect();
    },
    poolSample: () => sample(retries),
  };
}

function lifelineSide(url: string, options: SideOptions): Side {
  const redis = new Redis(url, {
    commandTimeout: options.queryDeadlineMs,
    connectTimeout: options.attemptDeadlineMs,
    retryStrategy: (attempt: number) => Math.min(25 * 2 ** attempt, 200),
    lifeline: {
      replyOverdueMs: 1000,
      socket: { keepaliveIdleMs: 1000, keepaliveIntervalMs: 1000, keepaliveCount: 3, userTimeoutMs: 3000 },
    },
  });
  // ioredis reports every connection error as an event; lifeline's verdicts are in the commands' errors.
  redis.on('error', () => {});
  const sample = connectionSampler(redis);
  const retries = countExecRetries();
  const list = writesKey(options.runId, 'lifeline');
  return {
    name: 'lifeline',
    maxOpMs: options.queryDeadlineMs,
    app: {
      async read(key) {
        await redis.get(itemKey(key));
      },
      async write(id) {
        await redis.rpush(list, String(id));
      },
    },
    close: async () => {
      retries.stop();
      redis.disconnect();
    },
    poolSample: () => sample(retries.count),
  };
}

/** A direct connection (not through a fault proxy): the ground truth is not part of the experiment. */
async function withRedis<T>(url: string, fn: (redis: PlainRedis) => Promise<T>): Promise<T> {
  const redis = new PlainRedis(url, {
    lazyConnect: true,
    connectTimeout: 10_000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
  });
  // ioredis rejects connect() with a generic "Connection is closed."; the first 'error' says why (ECONNREFUSED…).
  let first: unknown;
  redis.on('error', (error: unknown) => {
    first ??= error;
  });
  try {
    await redis.connect();
  } catch (error) {
    throw first ?? error;
  }
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function prepare(url: string): Promise<void> {
  await withRedis(url, async (redis) => {
    const items = redis.pipeline();
    for (let key = 1; key <= ITEMS; key++) items.set(itemKey(key), `item ${key}`);
    await items.exec();
    for (let i = 0; i < 300; i++) await redis.get(itemKey(1 + (i % ITEMS)));
  });
}

async function auditWrites(
  url: string,
  runId: string,
  side: string,
  acknowledged: ReadonlySet<number>,
): Promise<WriteAudit> {
  return withRedis(url, async (redis) => {
    const counts = new Map<number, number>();
    for (const id of await redis.lrange(writesKey(runId, side), 0, -1)) {
      counts.set(Number(id), (counts.get(Number(id)) ?? 0) + 1);
    }
    let lost = 0;
    for (const id of acknowledged) if (!counts.has(id)) lost++;
    let doubled = 0;
    for (const n of counts.values()) if (n > 1) doubled++;
    return { lost, doubled };
  });
}

/** Removes this run's lists (every scenario's run id starts with it); the items stay for another run. */
async function cleanup(url: string, runId: string): Promise<void> {
  await withRedis(url, async (redis) => {
    const keys = await redis.keys(`lifeline:demo:writes:${runId}-*`);
    if (keys.length > 0) await redis.del(...keys);
  });
}

const SETUP_HTML = `<b>ioredis</b> runs with its defaults (it sends again every command that was in flight when a
connection dropped) and a retry loop around writes. <b>lifeline-net/redis</b>
is configured as its docs suggest: keepalive and user timeout, lost replies verified after 1 s, a command
timeout; reads are sent again after a loss, writes whose outcome is unknown are reported.`;

export const redisDriver: DemoDriver = {
  name: 'redis',
  labels: {
    naive: 'ioredis',
    lifeline: 'lifeline-net/redis',
    read: 'GETs',
    write: 'RPUSHes of unique ids',
    setupHtml: SETUP_HTML,
  },
  scenarios: SCENARIOS,
  urlExample: 'redis://user:pass@host:6379/0',
  defaultTarget: `the machine's Redis (${DEFAULT_URL})`,
  checkUrl: (url) => checkServerUrl(url, ['redis:', 'rediss:']),
  async start({ url, onProgress }): Promise<DemoTarget> {
    const serverUrl = url ?? DEFAULT_URL;
    onProgress(`preparing Redis at ${redact(serverUrl)}…`);
    try {
      await prepare(serverUrl);
    } catch (error) {
      throw serverProblem(
        `Redis at ${redact(serverUrl)}`,
        error,
        url === undefined
          ? 'Start a Redis server on 127.0.0.1:6379, or give one with --url redis://host:6379'
          : 'Check that it is running and that --url is right',
      );
    }
    return {
      description: redact(serverUrl),
      upstream: upstreamOf(serverUrl, 6379),
      side(name, options) {
        const through = throughProxy(serverUrl, options.proxy);
        return name === 'naive' ? naiveSide(through, options) : lifelineSide(through, options);
      },
      auditWrites: (runId, side, acknowledged) => auditWrites(serverUrl, runId, side, acknowledged),
      cleanup: (runId) => cleanup(serverUrl, runId),
      stop: async () => {},
    };
  },
};
