/**
 * lifeline-net/redis's createClient (node-redis API) against the real Redis through the fault proxy.
 * node-redis never sends a command twice, but fails every command in flight on a connection loss, reads
 * included; lifeline sends the safe ones again and gives the others a typed outcome-unknown error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClient as plainCreateClient, RESP_TYPES } from 'redis';
import { createClient } from '../../../src/adapters/redis/index.js';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { checkOutcome, faults, runLoad } from './load.js';
import { type Lab, loseNextReply, newestConnection, once, until, withLab } from './support.js';

function client(lab: Lab, replyOverdueMs = 5000) {
  const c = createClient({
    socket: { host: lab.host, port: lab.port, reconnectStrategy: () => 20 },
    lifeline: { replyOverdueMs },
  });
  c.on('error', () => {});
  return c;
}

describe('node-redis API', () => {
  test('plain node-redis fails a GET whose reply was lost (what lifeline fixes)', async (t) => {
    await withLab(t, async (lab) => {
      await lab.admin.set(`${lab.prefix}k`, 'v');
      const plain = plainCreateClient({
        socket: { host: lab.host, port: lab.port, reconnectStrategy: () => 20 },
      });
      plain.on('error', () => {});
      await plain.connect();
      await plain.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      await assert.rejects(plain.get(`${lab.prefix}k`));
      plain.destroy();
    });
  });

  test('a GET whose reply was lost is sent again; an INCR is outcome-unknown and applied once', async (t) => {
    await withLab(t, async (lab) => {
      await lab.admin.set(`${lab.prefix}k`, 'v');
      const c = client(lab);
      await c.connect();
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      assert.equal(await c.get(`${lab.prefix}k`), 'v');
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      await assert.rejects(c.incr(`${lab.prefix}n`), OutcomeUnknownError);
      assert.equal(await lab.admin.get(`${lab.prefix}n`), '1');
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      // SET with NX (an options object in node-redis) is not idempotent: judged by the arguments it sends.
      await assert.rejects(c.set(`${lab.prefix}x`, '1', { NX: true }), OutcomeUnknownError);
      c.destroy();
    });
  });

  test("a with…() view (withTypeMapping, asap) is lifeline's too: its lost GET is sent again", async (t) => {
    await withLab(t, async (lab) => {
      await lab.admin.set(`${lab.prefix}k`, 'v');
      const c = client(lab);
      await c.connect();
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      const mapped = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      assert.deepEqual(await mapped.get(`${lab.prefix}k`), Buffer.from('v'));
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      assert.equal(await c.asap().get(`${lab.prefix}k`), 'v');
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      await assert.rejects(c.asap().incr(`${lab.prefix}n`), OutcomeUnknownError);
      c.destroy();
    });
  });

  test('a read-only MULTI is sent again whole; one with a write is outcome-unknown as a whole', async (t) => {
    await withLab(t, async (lab) => {
      await lab.admin.set(`${lab.prefix}a`, '1');
      const c = client(lab);
      await c.connect();
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      assert.deepEqual(await c.multi().get(`${lab.prefix}a`).get(`${lab.prefix}a`).exec(), ['1', '1']);
      await c.ping();
      loseNextReply(lab.proxy, newestConnection(lab.proxy));
      await assert.rejects(
        c.multi().get(`${lab.prefix}a`).incr(`${lab.prefix}n`).exec(),
        OutcomeUnknownError,
      );
      assert.equal(await lab.admin.get(`${lab.prefix}n`), '1');
      c.destroy();
    });
  });

  test('a subscriber recovers after a reset and reports the gap', async (t) => {
    await withLab(t, async (lab) => {
      const c = client(lab, 50);
      await c.connect();
      const received: string[] = [];
      await c.subscribe(`${lab.prefix}ch`, (message) => received.push(message));
      await c.pSubscribe(`${lab.prefix}p*`, (message) => received.push(`p:${message}`));
      const gap = once<{ durationMs: number; cause: string }>(c, 'subscriptionGap');
      lab.proxy.closeAll('reset');
      const reported = await gap;
      assert.equal(reported.cause, 'reset');
      await lab.admin.publish(`${lab.prefix}ch`, 'after');
      await lab.admin.publish(`${lab.prefix}p1`, 'pattern');
      await until(() => received.includes('after') && received.includes('p:pattern'));
      c.destroy();
    });
  });

  for (const [name, inject] of Object.entries(faults)) {
    test(`under ${name}: nothing applied twice, every GET answered`, { timeout: 60_000 }, async (t) => {
      await withLab(t, async (lab) => {
        await lab.admin.set(`${lab.prefix}fixed`, 'fixed');
        const c = client(lab, 200);
        await c.connect();
        const ops = {
          incr: (key: string) => c.incr(key),
          rpush: (key: string, value: string) => c.rPush(key, value),
          get: (key: string) => c.get(key),
        };
        const [outcome] = await Promise.all([runLoad(ops, lab, 30), inject(lab)]);
        await checkOutcome(lab, outcome);
        c.destroy();
      });
    });
  }
});
