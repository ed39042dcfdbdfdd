/**
 * lifeline-net/redis's Redis (ioredis API) when exactly one reply is lost: the request reached the server and
 * was applied, the connection was reset before the answer came back. Plain ioredis sends the command again
 * after reconnecting (an INCR applied twice); lifeline sends again only what is safe.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis as PlainRedis } from 'ioredis';
import { Redis, RedisPipelineLostError } from '../../../src/adapters/redis/index.js';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { loseNextReply, newestConnection, withLab } from './support.js';

const options = { retryStrategy: () => 20, lazyConnect: true } as const;

describe('ioredis API: a lost reply', () => {
  test('plain ioredis applies an INCR twice (the bug lifeline fixes)', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const plain = new PlainRedis({ host, port, ...options });
      plain.on('error', () => {});
      await plain.connect();
      await plain.ping();
      loseNextReply(proxy, newestConnection(proxy));
      await plain.incr(`${prefix}n`);
      assert.equal(await admin.get(`${prefix}n`), '2');
      plain.disconnect();
    });
  });

  test('an INCR whose reply was lost fails with OutcomeUnknownError and is applied once', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const redis = new Redis({ host, port, ...options });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      const error = await redis.incr(`${prefix}n`).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof OutcomeUnknownError, String(error));
      assert.equal((error as OutcomeUnknownError).code, 'LIFELINE_OUTCOME_UNKNOWN');
      assert.match((error as Error).message, /INCR was sent/);
      // The client carries on: the next command runs on the new connection.
      assert.equal(await redis.get(`${prefix}n`), '1');
      assert.equal(await admin.get(`${prefix}n`), '1');
      redis.disconnect();
    });
  });

  test('a GET whose reply was lost is sent again and answers', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      await admin.set(`${prefix}k`, 'v');
      const redis = new Redis({ host, port, ...options });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      assert.equal(await redis.get(`${prefix}k`), 'v');
      redis.disconnect();
    });
  });

  test('an idempotent SET is sent again; SET NX is outcome-unknown', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix }) => {
      const redis = new Redis({ host, port, ...options });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      assert.equal(await redis.set(`${prefix}a`, '1'), 'OK');
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      await assert.rejects(redis.set(`${prefix}b`, '1', 'NX'), OutcomeUnknownError);
      redis.disconnect();
    });
  });

  test('a command declared idempotent by the caller is sent again', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const redis = new Redis({ host, port, ...options, lifeline: { idempotentCommands: ['hincrby'] } });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      // Declared per call: applied twice is the caller's stated intent here (INCRBY 0 changes nothing).
      assert.equal(await redis.idempotent().incrby(`${prefix}n`, 0), 0);
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      assert.equal(await redis.hincrby(`${prefix}h`, 'f', 1), 2);
      assert.equal(await admin.hget(`${prefix}h`, 'f'), '2', 'declared idempotent: sent again');
      redis.disconnect();
    });
  });

  test('MULTI … EXEC lost before EXEC answered is outcome-unknown as a whole, never applied twice', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      const redis = new Redis({ host, port, ...options });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      const tx = redis.multi().incr(`${prefix}n`).rpush(`${prefix}l`, 'x').exec();
      await assert.rejects(tx, (error: unknown) => {
        assert.ok(error instanceof OutcomeUnknownError, String(error));
        return true;
      });
      assert.equal(await admin.get(`${prefix}n`), '1');
      assert.deepEqual(await admin.lrange(`${prefix}l`, 0, -1), ['x']);
      redis.disconnect();
    });
  });

  test('a read-only pipeline is sent again whole; a mixed one fails typed', async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      await admin.set(`${prefix}a`, '1');
      await admin.set(`${prefix}b`, '2');
      const redis = new Redis({ host, port, ...options });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      const reads = await redis.pipeline().get(`${prefix}a`).get(`${prefix}b`).exec();
      assert.deepEqual(reads, [
        [null, '1'],
        [null, '2'],
      ]);
      await redis.ping();
      loseNextReply(proxy, newestConnection(proxy));
      const mixed = await redis.pipeline().get(`${prefix}a`).incr(`${prefix}n`).exec();
      assert.ok(mixed?.[0]?.[0] instanceof RedisPipelineLostError, String(mixed?.[0]?.[0]));
      assert.ok(mixed?.[1]?.[0] instanceof OutcomeUnknownError, String(mixed?.[1]?.[0]));
      assert.equal(await admin.get(`${prefix}n`), '1');
      redis.disconnect();
    });
  });
});
