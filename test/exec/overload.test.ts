import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxy } from '../../src/faults/index.js';
import {
  type BreakerStateEvent,
  CircuitBreaker,
  CircuitOpenError,
  classifyPostgres,
  execute,
  RetryBudget,
  RetryBudgetExhaustedError,
} from '../../src/index.js';
import { requireService, services } from '../support/services.js';
import { sentQuery, withClient } from './pg-op.js';

describe('execute() under 100 % failure of a real Postgres behind a proxy', { timeout: 60_000 }, () => {
  let proxy: FaultProxy;
  let via: { host: string; port: number };

  before(async () => {
    proxy = new FaultProxy({
      listen: '127.0.0.1:0',
      upstream: `${services.postgres.host}:${services.postgres.port}`,
    });
    via = await proxy.start();
  });
  after(() => proxy.stop());

  const selectOne = (attempt: Parameters<typeof withClient>[0]) =>
    withClient(attempt, via, (client) => sentQuery(client, attempt, 'select 1 as one'));

  test('total attempts stay within the retry budget’s bound', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    proxy.disable(); // connections refused: every attempt fails, all of them safe to retry
    try {
      const budget = new RetryBudget({ percentCanRetry: 0.2, minRetriesPerSec: 1, ttlMs: 10_000 });
      const calls = 40;
      const maxAttempts = 5;
      let attempts = 0;
      let exhausted = 0;
      const started = Date.now();
      for (let i = 0; i < calls; i++) {
        await execute(selectOne, {
          classify: classifyPostgres,
          budget,
          retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 2 },
          events: { onAttempt: () => attempts++ },
        }).then(
          () => assert.fail('the server is unreachable'),
          (error: unknown) => {
            if (error instanceof RetryBudgetExhaustedError) exhausted++;
          },
        );
      }
      // Within any ttl window, retries ≤ reserve + 20 % of successes (none here).
      const windows = Math.ceil((Date.now() - started) / budget.ttlMs) + 1;
      const bound = calls + budget.reserve * windows;
      assert.ok(attempts <= bound, `${attempts} attempts > bound ${bound}`);
      assert.ok(attempts < calls * maxAttempts, 'without the budget every call would have made maxAttempts');
      assert.ok(attempts > calls, 'the reserve still allowed some retries');
      assert.ok(exhausted > 0, 'calls past the reserve failed with RetryBudgetExhaustedError');
    } finally {
      await proxy.enable();
    }
  });

  test('the breaker opens after consecutive failures, refuses without attempting, probes, and recovers', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const transitions: string[] = [];
    const breaker = new CircuitBreaker({
      name: 'pg',
      consecutiveFailures: 3,
      coolDownMs: 50,
      onStateChange: (e: BreakerStateEvent) => transitions.push(`${e.from}→${e.to}`),
    });
    let attempts = 0;
    const options = {
      classify: classifyPostgres,
      breaker,
      retry: { maxAttempts: 1 },
      events: { onAttempt: () => attempts++ },
    };
    const run = () =>
      execute(selectOne, options).then(
        (result) => result,
        (error: unknown) => error,
      );

    proxy.disable();
    try {
      let outcome: unknown;
      for (let i = 0; i < 10 && !(outcome instanceof CircuitOpenError); i++) outcome = await run();
      assert.ok(outcome instanceof CircuitOpenError, 'the breaker opened');
      assert.equal(outcome.code, 'LIFELINE_CIRCUIT_OPEN');
      assert.equal(
        attempts,
        3,
        'opened after exactly consecutiveFailures failures; the refused call made no attempt',
      );

      // After the cool-down one probe goes through; the server is still down, so it opens again.
      await sleep(breaker.retryAfterMs() + 20);
      const probe = await run();
      assert.ok(!(probe instanceof CircuitOpenError), 'the probe was attempted');
      assert.equal(attempts, 4);
      assert.equal(breaker.state, 'open');
    } finally {
      await proxy.enable();
    }

    // The server is back: the next probe succeeds and closes the breaker.
    await sleep(breaker.retryAfterMs() + 20);
    const recovered = await run();
    assert.equal((recovered as { rows: Array<{ one: number }> }).rows[0]?.one, 1);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(transitions, [
      'closed→open',
      'open→half-open',
      'half-open→open',
      'open→half-open',
      'half-open→closed',
    ]);
  });
});
