// Property (issue 16): every lifeline option of lifeline-net/redis — and `lazyConnect`, the one driver option
// lifeline reads itself — takes any value, for `Redis`, `createClient`, `Cluster`, `createCluster` and
// `createSentinel`. Each run builds the client; when that succeeds the client is used against a real server
// (PING, GET) and closed. It must end in a working client or an InvalidOptionError naming the option — never a
// raw TypeError/RangeError, a crash, a hang (every run is raced against a bound) or a connection left open
// (the process's sockets are counted before and after).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Cluster,
  createClient,
  createCluster,
  createSentinel,
  Redis,
} from '../../../src/adapters/redis/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { GetterError, hostile, params } from '../../property/support.js';
import { requireService, services } from '../../support/services.js';
import { type ClusterLab, haveRedisBinaries, startCluster } from './servers.js';

const HANG_MS = 10_000;

/** Every lifeline option, nested ones as `socket.x`; `other` and `socket.other` are unknown keys. */
const LIFELINE = [
  'socket',
  'socket.keepaliveIdleMs',
  'socket.keepaliveIntervalMs',
  'socket.keepaliveCount',
  'socket.userTimeoutMs',
  'socket.writeStallMs',
  'socket.closeTimeoutMs',
  'socket.idleData',
  'socket.readTimeoutMs',
  'socket.other',
  'idempotentCommands',
  'onConnectionEnd',
  'replyOverdueMs',
  'maxResends',
  'commandDeadlineMs',
  'other',
];

/** Values for a path: anything hostile, plus plausible ones so that valid clients are built and used too. */
function valuesFor(path: string): fc.Arbitrary<unknown> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    idempotentCommands: fc.array(fc.oneof(fc.string(), fc.constantFrom('incrby', 'client|kill', '|', 'x|')), {
      maxLength: 4,
    }),
    onConnectionEnd: fc.constant(() => {}),
    replyOverdueMs: fc.integer({ min: -5, max: 100_000 }),
    maxResends: fc.integer({ min: -2, max: 120 }),
    commandDeadlineMs: fc.integer({ min: -2, max: 100_000 }),
    socket: fc.dictionary(
      fc.constantFrom('keepaliveIdleMs', 'writeStallMs', 'x'),
      fc.integer({ min: -1, max: 1e6 }),
    ),
  };
  const extra = path.startsWith('socket.') ? fc.integer({ min: -10, max: 3_000_000 }) : plausible[path];
  return extra === undefined ? hostile : fc.oneof(hostile, extra);
}

/** `lifeline` options with `path` set to `value` (`lifeline` itself: the value is the whole object). */
function lifelineWith(path: string, value: unknown): unknown {
  if (path === 'lifeline') return value;
  const [head, tail] = path.split('.') as [string, string | undefined];
  return tail === undefined ? { [head]: value } : { [head]: { [tail]: value } };
}

/** The names an InvalidOptionError for `path` may carry: the path, its last segment, or its parent. */
function namesFor(path: string): string[] {
  const parts = path.split('.');
  return [path, parts[parts.length - 1] as string, parts[0] as string];
}

async function bounded(what: string, run: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what}: hung` })), HANG_MS);
  });
  try {
    await Promise.race([run(), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `build`: a working client, or an InvalidOptionError naming one of `names` (a value's own getter may throw). */
async function acceptsOrNames(path: string, build: () => Promise<void>): Promise<void> {
  try {
    await bounded(path, build);
  } catch (error) {
    if (error instanceof GetterError) return; // the value's own getter threw: propagated unchanged
    if (error instanceof assert.AssertionError) throw error;
    assert.ok(
      error instanceof InvalidOptionError,
      `${path}: expected InvalidOptionError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
    );
    assert.ok(
      namesFor(path).includes(error.option) || error.option.startsWith(`${path}.`) || path === 'lifeline',
      `InvalidOptionError for ${path} names "${error.option}": ${error.message}`,
    );
    assert.match(error.message, /lifeline|LiveSocket/);
  }
}

/** TCP sockets this process holds (Node's own count of active handles of type Socket). */
function openSockets(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => h?.constructor?.name === 'Socket' && !(h as { destroyed?: boolean }).destroyed)
    .length;
}

async function socketsSettle(baseline: number): Promise<void> {
  for (let i = 0; i < 200 && openSockets() > baseline; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(openSockets(), baseline, 'no connection left open');
}

const paths = ['lifeline', ...LIFELINE];
const pathAndValue = fc.constantFrom(...paths).chain((path) => fc.tuple(fc.constant(path), valuesFor(path)));

describe('lifeline-net/redis options take any value', { timeout: 600_000 }, () => {
  it('Redis (ioredis API): any lifeline option, and lazyConnect', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const { host, port } = services.redis;
    const baseline = openSockets();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(pathAndValue, fc.tuple(fc.constant('lazyConnect'), hostile)),
        async ([path, value]) => {
          await acceptsOrNames(path, async () => {
            const options =
              path === 'lazyConnect'
                ? { host, port, lazyConnect: value as boolean }
                : { host, port, lazyConnect: true, lifeline: lifelineWith(path, value) as never };
            const redis = new Redis(options);
            redis.on('error', () => {});
            try {
              assert.equal(await redis.ping(), 'PONG');
            } finally {
              redis.disconnect();
            }
            if (redis.status !== 'end') await new Promise((resolve) => redis.once('end', resolve));
          });
        },
      ),
      params(250),
    );
    await socketsSettle(baseline);
  });

  it('createClient (node-redis API): any lifeline option', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const { host, port } = services.redis;
    const baseline = openSockets();
    await fc.assert(
      fc.asyncProperty(pathAndValue, async ([path, value]) => {
        await acceptsOrNames(path, async () => {
          const client = createClient({
            socket: { host, port },
            lifeline: lifelineWith(path, value) as never,
          });
          client.on('error', () => {});
          await client.connect();
          try {
            assert.equal(await client.ping(), 'PONG');
          } finally {
            client.destroy();
          }
          assert.equal(client.isOpen, false);
        });
      }),
      params(250),
    );
    await socketsSettle(baseline);
  });

  it('createSentinel: any lifeline option is checked before anything connects', () => {
    fc.assert(
      fc.property(pathAndValue, ([path, value]) => {
        try {
          const sentinel = createSentinel({
            name: 'mymaster',
            sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }],
            lifeline: lifelineWith(path, value) as never,
          });
          assert.equal(sentinel.isOpen, false);
        } catch (error) {
          if (error instanceof GetterError) return;
          assert.ok(error instanceof InvalidOptionError, `${path}: ${String(error)}`);
          assert.ok(
            namesFor(path).includes(error.option) ||
              error.option.startsWith(`${path}.`) ||
              path === 'lifeline',
          );
        }
      }),
      params(300),
    );
  });
});

describe('lifeline-net/redis cluster options take any value', { timeout: 600_000 }, () => {
  let lab: ClusterLab | undefined;
  before(async () => {
    if (await haveRedisBinaries()) lab = await startCluster(3);
  });
  after(async () => {
    await lab?.stop();
  });

  it('Cluster (ioredis API) and createCluster (node-redis API): any lifeline option, and lazyConnect', async (t) => {
    if (lab === undefined) {
      t.skip('redis-server / redis-cli not installed');
      return;
    }
    const node = { host: '127.0.0.1', port: lab.ports[0] as number };
    const baseline = openSockets();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Cluster', 'createCluster'),
        fc.oneof(pathAndValue, fc.tuple(fc.constant('lazyConnect'), hostile)),
        async (api, [path, value]) => {
          await acceptsOrNames(path, async () => {
            if (api === 'Cluster') {
              const options =
                path === 'lazyConnect'
                  ? { lazyConnect: value as boolean }
                  : { lazyConnect: true, lifeline: lifelineWith(path, value) as never };
              const cluster = new Cluster([node], options);
              cluster.on('error', () => {});
              try {
                assert.equal(await cluster.get('lifeline:property:absent'), null);
              } finally {
                cluster.disconnect();
              }
              return;
            }
            if (path === 'lazyConnect') return;
            const cluster = createCluster({
              rootNodes: [{ socket: node }],
              lifeline: lifelineWith(path, value) as never,
            });
            cluster.on('error', () => {});
            await cluster.connect();
            try {
              assert.equal(await cluster.get('lifeline:property:absent'), null);
            } finally {
              cluster.destroy();
            }
          });
        },
      ),
      params(120),
    );
    await socketsSettle(baseline);
  });
});
