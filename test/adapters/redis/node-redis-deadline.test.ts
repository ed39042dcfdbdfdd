/**
 * lifeline-net/redis's createClient with `commandDeadlineMs`, against the real Redis through the fault proxy:
 * a command whose reply a middlebox swallows (the proxy's black-hole `timeout` toxic on the client's
 * connection) settles with RedisDeadlineExceededError instead of waiting; a write is never sent twice; a
 * command still queued in node-redis at its deadline (the server unreachable) is withdrawn and never applied.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError } from 'redis';
import {
  createClient,
  RedisDeadlineExceededError,
  RedisOutcomeUnknownError,
} from '../../../src/adapters/redis/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { DeadlineExceededError } from '../../../src/exec/index.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { type Lab, newestConnection, until, withLab } from './support.js';

/** Short, so the tests do not wait long; the assertions say what happened, not how fast. */
const commandDeadlineMs = 300;
/** A test that would wait forever for the swallowed reply (the defect this file covers) fails here instead. */
const bound = { timeout: 30_000 };

function client(
  lab: Lab,
  lifeline: { replyOverdueMs?: number; maxResends?: number; commandDeadlineMs?: number } = {},
  commandOptions?: { timeout: number },
) {
  const c = createClient({
    socket: { host: lab.host, port: lab.port, reconnectStrategy: () => 20 },
    ...(commandOptions && { commandOptions }),
    // Verification off by default here: the deadline alone has to settle the command.
    lifeline: { commandDeadlineMs, replyOverdueMs: 0, ...lifeline },
  });
  c.on('error', () => {});
  return c;
}

/** From now on the server's bytes on the client's connection are dropped; the connection stays open. */
function swallowReplies(proxy: FaultProxy): string {
  const connection = newestConnection(proxy);
  const info = proxy.connections().find((c) => c.id === connection);
  assert.ok(info, `proxy connection ${connection} is open`);
  const name = `swallow-${connection}`;
  proxy.addToxic({
    name,
    type: 'timeout',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection, afterBytes: info.bytes.downstream },
  });
  return name;
}

function deadlineError(error: unknown): RedisDeadlineExceededError {
  assert.ok(error instanceof RedisDeadlineExceededError, `expected RedisDeadlineExceededError, got ${error}`);
  assert.ok(error instanceof DeadlineExceededError);
  assert.equal(error.code, 'LIFELINE_DEADLINE_EXCEEDED');
  return error;
}

describe('node-redis API: commandDeadlineMs', () => {
  test(
    'a GET whose reply is swallowed settles with RedisDeadlineExceededError (sent, changes nothing)',
    bound,
    async (t) => {
      await withLab(t, async (lab) => {
        await lab.admin.set(`${lab.prefix}k`, 'v');
        const c = client(lab);
        await c.connect();
        await c.ping();
        swallowReplies(lab.proxy);
        const error = deadlineError(
          await c.get(`${lab.prefix}k`).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
        assert.equal(error.command, 'get');
        assert.equal(error.sent, true);
        assert.match(error.message, /changes nothing/);
        c.destroy();
      });
    },
  );

  test(
    'an INCR whose reply is swallowed settles with RedisDeadlineExceededError and is applied once',
    bound,
    async (t) => {
      await withLab(t, async (lab) => {
        const key = `${lab.prefix}n`;
        const c = client(lab);
        await c.connect();
        await c.ping();
        const toxic = swallowReplies(lab.proxy);
        const error = deadlineError(
          await c.incr(key).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
        assert.equal(error.command, 'incr');
        assert.equal(error.sent, true);
        assert.match(error.message, /may or may not have been applied/);
        // The request reached the server; lifeline sent it once and not again. The silent connection is reset
        // (its reply is gone for good), and the client, reconnected, reads the counter at 1.
        lab.proxy.removeToxic(toxic);
        lab.proxy.closeAll('reset');
        await until(() => c.isReady);
        assert.equal(await c.get(key), '1');
        assert.equal(await lab.admin.get(key), '1');
        c.destroy();
      });
    },
  );

  test(
    'with verification on, an INCR whose reply is lost is still outcome-unknown, applied once',
    bound,
    async (t) => {
      await withLab(t, async (lab) => {
        const key = `${lab.prefix}n`;
        // Verification (50 ms) finds the lost reply well inside the deadline (the deadline is raised for it):
        // the connection is closed and the INCR gets the lost connection's verdict, not the deadline's.
        const c = client(lab, { commandDeadlineMs: 20_000, replyOverdueMs: 50 });
        await c.connect();
        await c.ping();
        swallowReplies(lab.proxy);
        await assert.rejects(c.incr(key), RedisOutcomeUnknownError);
        await until(() => c.isReady);
        assert.equal(await c.get(key), '1');
        c.destroy();
      });
    },
  );

  test(
    'an INCR still queued at its deadline (server unreachable) is withdrawn and never applied',
    bound,
    async (t) => {
      await withLab(t, async (lab) => {
        const key = `${lab.prefix}n`;
        const c = client(lab);
        await c.connect();
        await c.ping();
        lab.proxy.disable();
        await until(() => !c.isReady);
        const error = deadlineError(
          await c.incr(key).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
        assert.equal(error.sent, false);
        assert.match(error.message, /was not applied/);
        await lab.proxy.enable();
        await until(() => c.isReady);
        // node-redis writes its queue in order: had the INCR stayed queued, it would run before this PING.
        await c.ping();
        assert.equal(await lab.admin.get(key), null);
        assert.equal(await c.incr(key), 1);
        c.destroy();
      });
    },
  );

  test(
    "node-redis's own queued-command timeout gives way to the deadline (typed, withdrawn)",
    bound,
    async (t) => {
      await withLab(t, async (lab) => {
        const key = `${lab.prefix}n`;
        // node-redis's timeout (5 s by default; 20 ms here) would reject the queued INCR with its untyped TimeoutError first.
        const c = client(lab, {}, { timeout: 20 });
        await c.connect();
        await c.ping();
        lab.proxy.disable();
        await until(() => !c.isReady);
        const error = deadlineError(
          await c.incr(key).then(
            () => undefined,
            (e: unknown) => e,
          ),
        );
        assert.equal(error.sent, false);
        await lab.proxy.enable();
        await until(() => c.isReady);
        await c.ping();
        assert.equal(await lab.admin.get(key), null);
        c.destroy();
      });
    },
  );

  test("the caller's own abort signal still withdraws a queued command", bound, async (t) => {
    await withLab(t, async (lab) => {
      const key = `${lab.prefix}n`;
      // A deadline far away: only the caller's abort can withdraw the INCR in this test.
      const c = client(lab, { commandDeadlineMs: 20_000 });
      await c.connect();
      await c.ping();
      lab.proxy.disable();
      await until(() => !c.isReady);
      const controller = new AbortController();
      const pending = c.withAbortSignal(controller.signal).incr(key);
      controller.abort();
      await assert.rejects(pending, AbortError);
      await lab.proxy.enable();
      await until(() => c.isReady);
      await c.ping();
      assert.equal(await lab.admin.get(key), null);
      c.destroy();
    });
  });

  test('commands answered in time are not touched by the deadline', bound, async (t) => {
    await withLab(t, async (lab) => {
      const c = client(lab);
      await c.connect();
      for (let i = 0; i < 50; i++) await c.rPush(`${lab.prefix}l`, String(i));
      assert.equal(await c.lLen(`${lab.prefix}l`), 50);
      assert.equal(await c.sendCommand(['LLEN', `${lab.prefix}l`]), 50);
      c.destroy();
    });
  });

  test('commandDeadlineMs must be a whole number of ms ≥ 0', () => {
    for (const bad of [-1, 1.5, '300', Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => createClient({ lifeline: { commandDeadlineMs: bad as number } }),
        (error: unknown) => error instanceof InvalidOptionError && error.option === 'commandDeadlineMs',
      );
    }
  });
});
