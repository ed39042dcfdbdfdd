/**
 * lifeline-net/redis's Redis (ioredis API) under every fault of the fault proxy while a mixed load runs:
 * no INCR or RPUSH applied twice, every acknowledged write present, every GET answered.
 */
import { describe, test } from 'node:test';
import { Redis } from '../../../src/adapters/redis/index.js';
import { checkOutcome, faults, runLoad } from './load.js';
import { withLab } from './support.js';

describe('ioredis API under faults', () => {
  for (const [name, inject] of Object.entries(faults)) {
    test(name, { timeout: 60_000 }, async (t) => {
      await withLab(t, async (lab) => {
        await lab.admin.set(`${lab.prefix}fixed`, 'fixed');
        const redis = new Redis({
          host: lab.host,
          port: lab.port,
          retryStrategy: () => 20,
          lazyConnect: true,
          lifeline: { replyOverdueMs: 200 },
        });
        redis.on('error', () => {});
        await redis.connect();
        const [outcome] = await Promise.all([runLoad(redis, lab, 30), inject(lab)]);
        await checkOutcome(lab, outcome);
        redis.disconnect();
      });
    });
  }
});
