/**
 * A connection whose CLIENT ID reply is swallowed (the fault proxy's black-hole `timeout` toxic, switched on
 * the moment the handshake is done) cannot be verified by `CLIENT LIST ID`: lifeline closes it once a reply
 * is overdue (RedisReplyUnverifiableError), so a GET behind it is sent again on a new connection and answers
 * instead of waiting for a reply that never comes. Both APIs: createClient (node-redis) and Redis (ioredis).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClient, Redis } from '../../../src/adapters/redis/index.js';
import type { ConnectionEnd } from '../../../src/adapters/redis/options.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { newestConnection, withLab } from './support.js';

/** Short, so the test does not wait 5 s; the assertions say what happened, not how fast. */
const replyOverdueMs = 300;
/** Bounds a test that would otherwise wait forever for the swallowed reply (the defect this file covers). */
const bound = { timeout: 30_000 };

/** From now on the newest connection's server bytes are dropped: the next reply (CLIENT ID's) never arrives. */
function swallowFromNow(proxy: FaultProxy): void {
  const connection = newestConnection(proxy);
  const info = proxy.connections().find((c) => c.id === connection);
  assert.ok(info, `proxy connection ${connection} is open`);
  proxy.addToxic({
    name: `swallow-${connection}`,
    type: 'timeout',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection, afterBytes: info.bytes.downstream },
  });
}

function unverifiable(ends: ConnectionEnd[]): ConnectionEnd[] {
  return ends.filter((end) => (end.error as { code?: string }).code === 'LIFELINE_REDIS_REPLY_UNVERIFIABLE');
}

describe('redis: a connection whose CLIENT ID reply was lost', () => {
  test('node-redis API: the connection is closed and a GET is sent again and answers', bound, async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      await admin.set(`${prefix}k`, 'v');
      const ends: ConnectionEnd[] = [];
      const client = createClient({
        socket: { host, port, reconnectStrategy: () => 20 },
        lifeline: { replyOverdueMs, onConnectionEnd: (end) => ends.push(end) },
      });
      client.on('error', () => {});
      // The handshake's replies have arrived; lifeline's CLIENT ID is queued but not yet answered.
      client.once('ready', () => swallowFromNow(proxy));
      await client.connect();
      assert.equal(await client.get(`${prefix}k`), 'v');
      const closed = unverifiable(ends);
      assert.equal(closed.length, 1, 'the unverifiable connection was closed once');
      assert.equal(closed[0]?.cause, 'read-timeout');
      assert.match(closed[0]?.error.message ?? '', /CLIENT ID\) never arrived/);
      // The new connection learned its id: its replies are verified as usual, and it works.
      assert.equal(await client.get(`${prefix}k`), 'v');
      assert.equal(unverifiable(ends).length, 1);
      client.destroy();
    });
  });

  test('ioredis API: the connection is closed and a GET is sent again and answers', bound, async (t) => {
    await withLab(t, async ({ proxy, host, port, prefix, admin }) => {
      await admin.set(`${prefix}k`, 'v');
      const ends: ConnectionEnd[] = [];
      const redis = new Redis({
        host,
        port,
        lazyConnect: true,
        retryStrategy: () => 20,
        lifeline: { replyOverdueMs, onConnectionEnd: (end) => ends.push(end) },
      });
      redis.on('error', () => {});
      redis.once('ready', () => swallowFromNow(proxy));
      await redis.connect();
      assert.equal(await redis.get(`${prefix}k`), 'v');
      const closed = unverifiable(ends);
      assert.equal(closed.length, 1, 'the unverifiable connection was closed once');
      assert.equal(closed[0]?.cause, 'read-timeout');
      assert.equal(await redis.get(`${prefix}k`), 'v');
      assert.equal(unverifiable(ends).length, 1);
      redis.disconnect();
    });
  });
});
