// Property: every options validator, given any value for any one option, yields a working object (built,
// used briefly, closed) or a typed error naming the option — never a raw TypeError/RangeError or a crash.
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool as PgPool } from '../../src/adapters/pg/index.js';
import { executor } from '../../src/exec/index.js';
import { FaultProxy, toxicDefinitions } from '../../src/faults/index.js';
import { type Factory, Pool } from '../../src/pool/index.js';
import { LiveSocket } from '../../src/socket/index.js';
import { acceptsOrNames, hostile, params } from './support.js';

function fakeFactory(): Factory<{ id: number }> {
  let next = 0;
  return {
    create: async () => ({ id: next++ }),
    destroy: () => {},
    alive: () => true,
    ping: async () => {},
  };
}

const poolKeys = [
  'min',
  'max',
  'acquireTimeoutMs',
  'createTimeoutMs',
  'idleTimeoutMs',
  'maxLifetimeMs',
  'lifetimeJitter',
  'keepaliveIntervalMs',
  'validateAfterIdleMs',
  'pingTimeoutMs',
  'leakDetectionMs',
  'createConcurrency',
  'createRetry',
  'idleOrder',
  'maxIdle',
  'unknownOption',
];

describe('options validators take any value', () => {
  let server: net.Server;
  let port = 0;
  before(async () => {
    server = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('Pool', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...poolKeys), hostile, async (key, value) => {
        await acceptsOrNames(key, async () => {
          const pool = new Pool({ factory: fakeFactory(), [key]: value });
          try {
            const resource = await pool.acquire({ timeoutMs: 1000 });
            pool.release(resource);
          } finally {
            await pool.drain({ timeoutMs: 1000 });
          }
        });
      }),
      params(400),
    );
  });

  it('Pool.acquire per-call options', async () => {
    const pool = new Pool({ factory: fakeFactory() });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('timeoutMs', 'signal', 'other'), hostile, async (key, value) => {
        await acceptsOrNames(key, async () => {
          const resource = await pool.acquire({ [key]: value });
          pool.release(resource);
        });
      }),
      params(200),
    );
    await pool.drain({ timeoutMs: 1000 });
  });

  it('LiveSocket.connect', async () => {
    const keys = [
      'host',
      'port',
      'tls',
      'connectTimeoutMs',
      'keepaliveIdleMs',
      'keepaliveIntervalMs',
      'keepaliveCount',
      'userTimeoutMs',
      'writeStallMs',
      'readTimeoutMs',
      'idleData',
      'closeTimeoutMs',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), hostile, async (key, value) => {
        // A value that names another host or port is not dialled: only loopback is ever targeted.
        if ((key === 'host' && value !== '127.0.0.1') || key === 'tls') {
          if (typeof value === 'string' || (key === 'tls' && typeof value === 'object')) return;
        }
        if (key === 'port' && typeof value === 'number' && Number.isInteger(value)) return;
        await acceptsOrNames(key, async () => {
          const live = LiveSocket.connect({ host: '127.0.0.1', port, [key]: value });
          try {
            await live.ready();
          } finally {
            live.destroy();
          }
        });
      }),
      params(200),
    );
  });

  it('executor and execute', async () => {
    const keys = [
      'deadlineMs',
      'deadline',
      'signal',
      'attemptTimeoutMs',
      'idempotent',
      'retry',
      'budget',
      'breaker',
      'hosts',
      'route',
      'hedge',
      'classify',
      'events',
      'bogus',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), hostile, async (key, value) => {
        await acceptsOrNames(key, async () => {
          const run = executor({ [key]: value });
          await run(async () => 1);
        });
        await acceptsOrNames(key, async () => {
          await executor()(async () => 1, { [key]: value });
        });
      }),
      params(300),
    );
  });

  it('FaultProxy options and every toxic attribute', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('seed', 'name', 'enabled', 'listen'), hostile, async (key, value) => {
        if (key === 'listen' && typeof value === 'string') return; // only loopback is ever listened on
        await acceptsOrNames(key, async () => {
          const proxy = new FaultProxy({ upstream: `127.0.0.1:${port}`, [key]: value });
          await proxy.start();
          await proxy.stop();
        });
      }),
      params(150),
    );
    const proxy = new FaultProxy({ upstream: `127.0.0.1:${port}`, seed: 1 });
    await proxy.start();
    const types = Object.keys(toxicDefinitions);
    const fields = ['name', 'stream', 'toxicity', 'target', 'attributes'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...types),
        fc.constantFrom(...fields, 'attribute'),
        fc.constantFrom('latency', 'jitter', 'rate', 'delay', 'timeout', 'average_size', 'bytes', 'x'),
        hostile,
        async (type, field, attribute, value) => {
          const spec =
            field === 'attribute' ? { type, attributes: { [attribute]: value } } : { type, [field]: value };
          await acceptsOrNames(field, () => {
            const toxic = proxy.addToxic(spec as never);
            proxy.removeToxic(toxic.name);
          });
        },
      ),
      params(400),
    );
    await proxy.stop();
  });

  it('lifeline-net/pg Pool `lifeline` options', async () => {
    const keys = [
      'acquireTimeoutMs',
      'queryDeadlineMs',
      'cancelTimeoutMs',
      'idempotent',
      'maxRetries',
      'retryBackoffMs',
      'targetSessionAttrs',
      'hostDownMs',
      'connectTimeoutMs',
      'connectRetryMs',
      'createBackoffBaseMs',
      'createBackoffMaxMs',
      'keepaliveIdleMs',
      'keepaliveIntervalMs',
      'keepaliveCount',
      'userTimeoutMs',
      'writeStallMs',
      'validateAfterIdleMs',
      'lifetimeJitter',
      'safeReads',
      'verifyAfterMs',
      'pooler',
      'bogus',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...keys), hostile, async (key, value) => {
        await acceptsOrNames(key, async () => {
          const pool = new PgPool({
            host: '127.0.0.1',
            port: 5432,
            user: 'postgres',
            database: 'test',
            max: 1,
            lifeline: { [key]: value },
          });
          try {
            await pool.query('select 1');
          } finally {
            await pool.end();
          }
        });
      }),
      params(120),
    );
  });
});
