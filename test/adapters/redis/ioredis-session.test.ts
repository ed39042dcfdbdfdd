/**
 * lifeline-net/redis's Redis (ioredis API): what a connection carries beyond single commands survives its
 * death — subscriptions (with the gap reported), client name, selected database, tracking — blocking
 * commands are not judged lost while they block, and user hooks run once per connection end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConnectionEnd, Redis, type SubscriptionGap } from '../../../src/adapters/redis/index.js';
import { once, sleep, until, withLab } from './support.js';

describe('ioredis API: session state across connections', () => {
  test('a subscriber resubscribes to every channel and pattern at once and reports the gap', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const sub = new Redis({ host, port, retryStrategy: () => 20, lifeline: { replyOverdueMs: 50 } });
      sub.on('error', () => {});
      const received: string[] = [];
      sub.on('message', (_channel: string, message: string) => received.push(message));
      sub.on('pmessage', (_pattern: string, _channel: string, message: string) =>
        received.push(`p:${message}`),
      );
      await sub.subscribe(`${prefix}a`, `${prefix}b`);
      await sub.psubscribe(`${prefix}p*`);
      // Idle for longer than replyOverdueMs, then a message arrives unasked: neither kills the connection.
      await sleep(150);
      await admin.publish(`${prefix}a`, 'before');
      await until(() => received.includes('before'));
      const gap = once<SubscriptionGap>(sub, 'subscriptionGap');
      proxy.closeAll('reset');
      const reported = await gap;
      assert.deepEqual(reported.channels.sort(), [`${prefix}a`, `${prefix}b`]);
      assert.deepEqual(reported.patterns, [`${prefix}p*`]);
      assert.equal(reported.cause, 'reset');
      assert.ok(reported.durationMs >= 0);
      await admin.publish(`${prefix}b`, 'after');
      await admin.publish(`${prefix}p1`, 'pattern');
      await until(() => received.includes('after') && received.includes('p:pattern'));
      sub.disconnect();
    });
  });

  test('client name, selected database and tracking are restored on the new connection', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const redis = new Redis({ host, port, retryStrategy: () => 20, protocol: 3 });
      redis.on('error', () => {});
      await redis.client('SETNAME', 'lifeline-test');
      await redis.select(3);
      await redis.set(`${prefix}k`, 'in-db-3');
      await redis.client('TRACKING', 'ON');
      const ended = once(redis, 'ready');
      proxy.closeAll('fin');
      await ended;
      assert.equal(await redis.client('GETNAME'), 'lifeline-test');
      assert.equal(await redis.get(`${prefix}k`), 'in-db-3');
      const info = (await redis.client('TRACKINGINFO')) as unknown;
      assert.match(JSON.stringify(info), /"on"/);
      // An invalidation push arrives unasked on a tracking connection: it is not idle data.
      await admin.select(3);
      await admin.set(`${prefix}k`, 'changed');
      await admin.select(0);
      await sleep(50);
      assert.equal(await redis.get(`${prefix}k`), 'changed');
      await admin.select(3);
      await admin.del(`${prefix}k`);
      await admin.select(0);
      redis.disconnect();
    });
  });

  test('a BLPOP blocks past replyOverdueMs and still gets its value', async (t) => {
    await withLab(t, async ({ host, port, prefix, admin }) => {
      const redis = new Redis({ host, port, lifeline: { replyOverdueMs: 50 } });
      const pop = redis.blpop(`${prefix}q`, 0);
      await sleep(300);
      await admin.rpush(`${prefix}q`, 'v');
      assert.deepEqual(await pop, [`${prefix}q`, 'v']);
      redis.disconnect();
    });
  });

  test('onConnectionEnd runs once per connection, whoever closed it', async (t) => {
    await withLab(t, async ({ proxy, host, port }) => {
      const ends: ConnectionEnd[] = [];
      const redis = new Redis({
        host,
        port,
        retryStrategy: () => 20,
        lifeline: { onConnectionEnd: (end) => ends.push(end) },
      });
      redis.on('error', () => {});
      await redis.ping();
      proxy.closeAll('reset');
      await once(redis, 'ready');
      proxy.closeAll('fin');
      await once(redis, 'ready');
      await redis.quit();
      await until(() => ends.length === 3);
      await sleep(50);
      assert.deepEqual(
        ends.map((end) => end.cause),
        ['reset', 'peer-fin', 'peer-fin'],
      );
      for (const end of ends) assert.equal(end.endpoint, `${host}:${port}`);
    });
  });
});
