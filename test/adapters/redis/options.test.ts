/**
 * lifeline-net/redis's own options are checked at construction, with typed errors naming the option; the
 * driver's constructor forms keep working; no message carries a password.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedisOutcomeUnknownError } from '../../../src/adapters/redis/errors.js';
import { createClient, Redis } from '../../../src/adapters/redis/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { requireService, services } from '../../support/services.js';

describe('lifeline options', () => {
  const bad: [string, unknown][] = [
    ['unknown key', { retries: 3 }],
    ['idempotentCommands not an array', { idempotentCommands: 'incr' }],
    ['idempotentCommands with an empty name', { idempotentCommands: [''] }],
    ['negative replyOverdueMs', { replyOverdueMs: -1 }],
    ['replyOverdueMs too small to time', { replyOverdueMs: 1 }],
    ['idleData is lifeline’s', { socket: { idleData: 'allow' } }],
    ['onConnectionEnd not a function', { onConnectionEnd: 'log' }],
    ['keepalive idle under a second', { socket: { keepaliveIdleMs: 500 } }],
    ['a negative write stall', { socket: { writeStallMs: -1 } }],
  ];
  for (const [what, lifeline] of bad) {
    test(`Redis: ${what} is an InvalidOptionError`, () => {
      assert.throws(
        () => new Redis({ lazyConnect: true, lifeline: lifeline as never }),
        (error: unknown) => error instanceof InvalidOptionError && error.code === 'LIFELINE_INVALID_OPTION',
      );
    });
    test(`createClient: ${what} is an InvalidOptionError`, () => {
      assert.throws(() => createClient({ lifeline: lifeline as never }), InvalidOptionError);
    });
  }
});

describe('ioredis constructor forms', () => {
  test('port and host, URL, options object: all reach the server', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const { host, port } = services.redis;
    const clients = [
      new Redis(port, host, { lazyConnect: true }),
      new Redis(`redis://${host}:${port}/0`, { lazyConnect: true }),
      new Redis({ host, port, lazyConnect: true }),
    ];
    for (const client of clients) {
      await client.connect();
      assert.equal(await client.ping(), 'PONG');
      assert.ok(client.duplicate() instanceof Redis);
      client.disconnect();
    }
  });

  test('an eager client emits no wait event and connects on its own', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const events: string[] = [];
    const client = new Redis({ host: services.redis.host, port: services.redis.port });
    for (const event of ['wait', 'connect', 'ready']) client.on(event, () => events.push(event));
    assert.equal(client.status, 'connecting');
    await new Promise((resolve) => client.once('ready', resolve));
    assert.deepEqual(events, ['connect', 'ready']);
    client.disconnect();
  });
});

describe('errors', () => {
  test('outcome-unknown is the same class and code as everywhere in lifeline; no password in it', () => {
    const cause = new Error('connect to redis://user:s3cret@db.example:6379 failed');
    const error = new RedisOutcomeUnknownError('incr', '127.0.0.1:6379', cause);
    assert.ok(error instanceof OutcomeUnknownError);
    assert.equal(error.code, 'LIFELINE_OUTCOME_UNKNOWN');
    assert.equal(error.cause, cause);
    assert.doesNotMatch(error.message, /s3cret/);
  });
});
