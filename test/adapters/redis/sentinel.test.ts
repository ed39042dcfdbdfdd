/**
 * Sentinel configurations with lifeline's rules: ioredis's `new Redis({ sentinels, name })` and node-redis's
 * `createSentinel`, against a real Sentinel started by this file monitoring its own redis-server, the master
 * reached through a fault proxy (ioredis natMap / node-redis nodeAddressMap). Under resets, FINs and a restart
 * of the master's address: no INCR or RPUSH applied twice, no GET failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis as PlainRedis } from 'ioredis';
import { type ConnectionEnd, createSentinel, Redis } from '../../../src/adapters/redis/index.js';
import { FaultProxy } from '../../../src/faults/index.js';
import { checkOutcome, type Ops, runLoad } from './load.js';
import { haveRedisBinaries, type SentinelLab, startSentinel } from './servers.js';
import { type Lab, sleep } from './support.js';

let lab: SentinelLab | undefined;
let proxy: FaultProxy | undefined;
let mapped = { host: '127.0.0.1', port: 0 };
let admin: PlainRedis | undefined;
let prefixCount = 0;

before(async () => {
  if (!(await haveRedisBinaries())) return;
  lab = await startSentinel();
  proxy = new FaultProxy({ listen: '127.0.0.1:0', upstream: `127.0.0.1:${lab.masterPort}`, seed: 7 });
  mapped = await proxy.start();
  admin = new PlainRedis({ host: '127.0.0.1', port: lab.masterPort, lazyConnect: true });
  await admin.connect();
});

after(async () => {
  admin?.disconnect();
  await proxy?.stop();
  await lab?.stop();
});

function skipWithout(t: { skip(message: string): void }): boolean {
  if (lab !== undefined) return false;
  t.skip('redis-server / redis-cli not installed');
  return true;
}

const faults: Record<string, () => Promise<void>> = {
  async 'connection resets'() {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy?.closeAll('reset');
    }
  },
  async 'FINs from the master side'() {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy?.closeAll('fin');
    }
  },
  async 'the master unreachable for a while (restart)'() {
    await sleep(40);
    proxy?.disable();
    await sleep(300);
    await proxy?.enable();
  },
};

function ioredisClient(): Redis {
  assert.ok(lab);
  const redis = new Redis({
    sentinels: [{ host: '127.0.0.1', port: lab.sentinelPort }],
    name: lab.name,
    natMap: { [`127.0.0.1:${lab.masterPort}`]: mapped },
    retryStrategy: () => 20,
    lazyConnect: true,
    lifeline: { replyOverdueMs: 200 },
  });
  redis.on('error', () => {});
  return redis;
}

describe('ioredis Sentinel configuration: new Redis({ sentinels, name })', () => {
  test('reaches the master the Sentinel names, through lifeline', async (t) => {
    if (skipWithout(t)) return;
    const redis = ioredisClient();
    await redis.connect();
    const key = `s${prefixCount++}:k`;
    await redis.set(key, 'v');
    assert.equal(await admin?.get(key), 'v');
    assert.ok((proxy?.connections().length ?? 0) > 0, 'the master connection goes through the proxy');
    redis.disconnect();
  });

  for (const [name, inject] of Object.entries(faults)) {
    test(name, { timeout: 60_000 }, async (t) => {
      if (skipWithout(t)) return;
      const prefix = `s${prefixCount++}:`;
      await admin?.set(`${prefix}fixed`, 'fixed');
      const redis = ioredisClient();
      await redis.connect();
      const fake = { prefix, admin } as unknown as Lab;
      const [outcome] = await Promise.all([runLoad(redis, fake, 30), inject()]);
      await checkOutcome(fake, outcome);
      assert.ok(outcome.incrOk > 0);
      redis.disconnect();
    });
  }
});

describe('node-redis createSentinel', () => {
  function nodeClient(onConnectionEnd?: (end: ConnectionEnd) => void) {
    assert.ok(lab);
    const sentinel = createSentinel({
      name: lab.name,
      sentinelRootNodes: [{ host: '127.0.0.1', port: lab.sentinelPort }],
      nodeAddressMap: (address: string) => (address === `127.0.0.1:${lab?.masterPort}` ? mapped : undefined),
      lifeline: { replyOverdueMs: 200, onConnectionEnd },
    });
    sentinel.on('error', () => {});
    return sentinel;
  }

  test('commands reach the master through lifeline; its socket is watched (a FIN is seen at once)', async (t) => {
    if (skipWithout(t)) return;
    const ends: ConnectionEnd[] = [];
    const sentinel = await nodeClient((end) => ends.push(end)).connect();
    const key = `s${prefixCount++}:n`;
    await sentinel.set(key, 'v');
    assert.equal(await sentinel.get(key), 'v');
    assert.equal(await sentinel.incr(`${key}:c`), 1);
    proxy?.closeAll('fin');
    while (!ends.some((end) => end.cause === 'peer-fin' && end.endpoint.endsWith(`:${mapped.port}`))) {
      await sleep(10);
    }
    assert.equal(await sentinel.get(key), 'v');
    sentinel.destroy();
  });

  for (const [name, inject] of Object.entries(faults)) {
    test(name, { timeout: 60_000 }, async (t) => {
      if (skipWithout(t)) return;
      const prefix = `s${prefixCount++}:`;
      await admin?.set(`${prefix}fixed`, 'fixed');
      const sentinel = await nodeClient().connect();
      const ops: Ops = {
        incr: (key) => sentinel.incr(key),
        rpush: (key, value) => sentinel.rPush(key, value),
        get: (key) => sentinel.get(key),
      };
      const fake = { prefix, admin } as unknown as Lab;
      const [outcome] = await Promise.all([runLoad(ops, fake, 30), inject()]);
      await checkOutcome(fake, outcome);
      assert.ok(outcome.incrOk > 0);
      sentinel.destroy();
    });
  }
});
