// core/events.ts's one rule, at each place lifeline calls listeners: a throwing listener never breaks
// lifeline's own state nor stops the other listeners, and its error is rethrown on a later tick (reaching
// process 'uncaughtException', as a throwing EventEmitter listener's would) instead of being swallowed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { CircuitBreaker, execute, LiveSocket, Pool } from '../../src/index.js';
import { tokenFactory } from '../pool/support.js';
import { deathOf, startServer } from '../socket/support.js';

/** Runs `body`, then one more turn, capturing what reaches 'uncaughtException' meanwhile. */
async function uncaughtDuring(body: () => Promise<void> | void): Promise<unknown[]> {
  const caught: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((error) => caught.push(error));
  try {
    await body();
    await turn();
  } finally {
    process.setUncaughtExceptionCaptureCallback(null);
  }
  return caught;
}

const bug = (where: string) => new Error(`listener bug in ${where}`);

describe('a throwing listener', () => {
  test('CircuitBreaker onStateChange: the breaker opens, the next listener runs, the error is rethrown later', async () => {
    const seen: string[] = [];
    const thrown = bug('onStateChange');
    const breaker = new CircuitBreaker({
      consecutiveFailures: 1,
      onStateChange: () => {
        throw thrown;
      },
    });
    breaker.onStateChange((event) => seen.push(event.to));
    const caught = await uncaughtDuring(() => {
      breaker.failure(breaker.acquire(1000), 1000);
      assert.equal(breaker.state, 'open');
    });
    assert.deepEqual(seen, ['open']);
    assert.deepEqual(caught, [thrown]);
  });

  test('execute() events: the call still succeeds; the error is rethrown later', async () => {
    const thrown = bug('onRetry');
    let calls = 0;
    const caught = await uncaughtDuring(async () => {
      const result = await execute(
        async () => {
          if (++calls === 1) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
          return 'ok';
        },
        {
          retry: { baseDelayMs: 0 },
          events: {
            onRetry() {
              throw thrown;
            },
          },
        },
      );
      assert.equal(result, 'ok');
    });
    assert.deepEqual(caught, [thrown]);
  });

  test("Pool 'acquire' listener: the acquire still resolves and the pool's counts stay right", async () => {
    const thrown = bug('acquire');
    const pool = new Pool({ factory: tokenFactory(), max: 1 });
    pool.on('acquire', () => {
      throw thrown;
    });
    const caught = await uncaughtDuring(async () => {
      const token = await pool.acquire();
      assert.equal(pool.stats().busy, 1);
      pool.release(token);
      assert.equal(pool.stats().idle, 1);
    });
    assert.deepEqual(caught, [thrown]);
    await pool.drain();
  });

  test("LiveSocket 'state' listener and onClose hooks: the socket still dies whole, every hook runs", async () => {
    const server = await startServer();
    const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
    await live.ready();
    const stateBug = bug('state');
    const hookBug = bug('onClose');
    const hooks: string[] = [];
    live.on('state', () => {
      throw stateBug;
    });
    live.onClose(() => {
      throw hookBug;
    });
    live.onClose((death) => hooks.push(death.cause));
    try {
      const caught = await uncaughtDuring(async () => {
        live.destroy();
        await deathOf(live);
      });
      assert.equal(live.state, 'closed');
      assert.deepEqual(hooks, ['local-close']);
      assert.ok(caught.includes(stateBug));
      assert.ok(caught.includes(hookBug));
    } finally {
      await server.close();
    }
  });
});
