import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CircuitBreaker,
  classifyHttp,
  classifyMysql,
  classifyNetwork,
  classifyPostgres,
  classifyRedis,
  HedgePolicy,
  HostSet,
  RetryBudget,
  RetryPolicy,
} from '../../src/index.js';

const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe('RetryPolicy', () => {
  test('full jitter: the delay is random × min(maxDelayMs, base·2^(n−1))', () => {
    const policy = new RetryPolicy({ baseDelayMs: 10, maxDelayMs: 100 });
    const top = () => 0.999999;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => Math.round(policy.delayMs(n, top))),
      [10, 20, 40, 80, 100, 100],
    );
    assert.equal(
      policy.delayMs(3, () => 0),
      0,
    );
    assert.equal(
      policy.delayMs(3, () => 0.5),
      20,
    );
  });
});

describe('RetryBudget', () => {
  test('allows the reserve with no successes, then 20 % of successes', () => {
    const budget = new RetryBudget({ percentCanRetry: 0.2, minRetriesPerSec: 1, ttlMs: 10_000 });
    const now = 1_000_000;
    let granted = 0;
    while (budget.tryWithdraw(now)) granted++;
    assert.equal(granted, 10, 'reserve = minRetriesPerSec × ttl');
    for (let i = 0; i < 50; i++) budget.deposit(now);
    granted = 0;
    while (budget.tryWithdraw(now)) granted++;
    assert.equal(granted, 10, '20 % of 50 successes');
  });

  test('withdrawals and deposits leave the window after ttlMs', () => {
    const budget = new RetryBudget({ minRetriesPerSec: 1, ttlMs: 1000 });
    assert.equal(budget.tryWithdraw(5000), true);
    assert.equal(budget.tryWithdraw(5000), false);
    assert.equal(budget.available(6001), 1);
  });
});

describe('CircuitBreaker', () => {
  test('opens on consecutive failures; half-open needs every probe to succeed', () => {
    const events: string[] = [];
    const breaker = new CircuitBreaker({
      consecutiveFailures: 2,
      coolDownMs: 100,
      coolDownJitter: 0,
      halfOpenProbes: 2,
      onStateChange: (e) => events.push(`${e.from}→${e.to}`),
    });
    const t0 = 1_000_000;
    breaker.failure(breaker.acquire(t0), t0);
    assert.equal(breaker.state, 'closed');
    breaker.failure(breaker.acquire(t0), t0);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.acquire(t0 + 99), -1);
    const p1 = breaker.acquire(t0 + 100);
    const p2 = breaker.acquire(t0 + 100);
    assert.equal(breaker.acquire(t0 + 100), -1, 'only halfOpenProbes calls pass');
    breaker.success(p1, t0 + 101);
    assert.equal(breaker.state, 'half-open');
    breaker.success(p2, t0 + 101);
    assert.deepEqual(events, ['closed→open', 'open→half-open', 'half-open→closed']);
  });

  test('opens on the failure rate over the window even without a run of failures', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 10 });
    const now = 1_000_000;
    for (let i = 0; i < 5; i++) {
      breaker.success(breaker.acquire(now), now);
      assert.equal(breaker.state, 'closed');
      breaker.failure(breaker.acquire(now), now);
    }
    assert.equal(breaker.state, 'open');
  });

  test('a failed probe opens it again for a longer, jittered cool-down', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, coolDownMs: 100, coolDownJitter: 0.2 });
    const t0 = 1_000_000;
    breaker.failure(breaker.acquire(t0), t0);
    const first = breaker.retryAfterMs(t0);
    assert.ok(first >= 80 && first <= 120, `cool-down ${first} within ±20 %`);
    const t1 = t0 + 200;
    breaker.failure(breaker.acquire(t1), t1);
    const second = breaker.retryAfterMs(t1);
    assert.ok(second >= 160 && second <= 240, `doubled cool-down ${second}`);
  });

  test('a late verdict from a call admitted before the state changed decides nothing', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, coolDownMs: 10, coolDownJitter: 0 });
    const t0 = 1_000_000;
    const old = breaker.acquire(t0);
    breaker.failure(breaker.acquire(t0), t0);
    breaker.acquire(t0 + 10); // half-open, probe taken
    breaker.success(old, t0 + 11);
    assert.equal(breaker.state, 'half-open');
  });
});

describe('HedgePolicy', () => {
  test('waits for history, then hedges at the observed percentile', () => {
    const hedge = new HedgePolicy({ percentile: 0.95 });
    for (let i = 1; i <= 19; i++) hedge.record(i);
    assert.equal(hedge.delayMs(), undefined);
    for (let i = 20; i <= 100; i++) hedge.record(i);
    assert.equal(hedge.delayMs(), 96);
    assert.equal(new HedgePolicy({ delayMs: 30 }).delayMs(), 30);
  });
});

describe('HostSet probes', () => {
  test('a probe that ignores its signal and never settles is given up at probeTimeoutMs; the next ones run', async () => {
    let probes = 0;
    const hosts = new HostSet([{ host: '127.0.0.1', port: 1, name: 'db' }], {
      probe: () => (++probes === 1 ? new Promise<never>(() => {}) : Promise.resolve('primary')),
      probeIntervalMs: 10,
      probeTimeoutMs: 20,
      probeSuccesses: 2,
    });
    try {
      const breaker = hosts.hosts[0]!.breaker;
      breaker.trip();
      // Polls (the probe interval is unref'd, this holds the process); the cap only ends a test that failed.
      for (let i = 0; i < 400 && breaker.state !== 'closed'; i++) await sleep(25);
      assert.equal(breaker.state, 'closed', `two probes passed after the hung one (probes: ${probes})`);
      assert.ok(probes >= 3);
    } finally {
      hosts.close();
    }
  });
});

describe('classifiers', () => {
  test('a connection error is not-sent before markSent() and outcome-unknown after', () => {
    assert.equal(classifyNetwork(reset, false).kind, 'not-sent');
    assert.equal(classifyNetwork(reset, true).kind, 'outcome-unknown');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(
      classifyNetwork(refused, true).kind,
      'not-sent',
      'a refused connection never carried a byte',
    );
    assert.deepEqual(classifyNetwork(new Error('syntax error'), true), {
      kind: 'rejected',
      transient: false,
    });
  });

  test('Postgres', () => {
    const pg = (code: string) => Object.assign(new Error(code), { code, severity: 'ERROR' });
    for (const code of ['57P01', '57P02', '57P03', '40001', '40P01']) {
      assert.deepEqual(classifyPostgres(pg(code), true), { kind: 'rejected', transient: true }, code);
    }
    assert.equal(classifyPostgres(pg('08006'), true).kind, 'outcome-unknown');
    assert.equal(classifyPostgres(pg('08001'), true).kind, 'not-sent');
    assert.equal(
      classifyPostgres(new Error('Connection terminated unexpectedly'), true).kind,
      'outcome-unknown',
    );
    assert.equal(classifyPostgres(new Error('Connection terminated unexpectedly'), false).kind, 'not-sent');
    assert.deepEqual(classifyPostgres(pg('23505'), true), { kind: 'rejected', transient: false });
  });

  test('MySQL', () => {
    const my = (errno: number) => Object.assign(new Error(String(errno)), { errno });
    assert.deepEqual(classifyMysql(my(1205), true), { kind: 'rejected', transient: true });
    assert.deepEqual(classifyMysql(my(1213), true), { kind: 'rejected', transient: true });
    assert.equal(classifyMysql(my(2006), true).kind, 'outcome-unknown');
    assert.equal(classifyMysql(my(2013), false).kind, 'not-sent');
    assert.deepEqual(classifyMysql(my(1062), true), { kind: 'rejected', transient: false });
  });

  test('Redis', () => {
    for (const message of [
      'LOADING Redis is loading',
      'TRYAGAIN Multiple keys',
      'BUSY Redis is busy running a script',
    ]) {
      assert.deepEqual(classifyRedis(new Error(message), true), { kind: 'rejected', transient: true });
    }
    assert.deepEqual(classifyRedis(new Error('WRONGTYPE Operation'), true), {
      kind: 'rejected',
      transient: false,
    });
  });

  test('HTTP, with Retry-After', () => {
    const http = (statusCode: number, headers: Record<string, string> = {}) =>
      Object.assign(new Error(String(statusCode)), { statusCode, headers });
    assert.deepEqual(classifyHttp(http(503, { 'retry-after': '2' }), true), {
      kind: 'rejected',
      transient: true,
      retryAfterMs: 2000,
    });
    assert.deepEqual(classifyHttp(http(502), true), { kind: 'rejected', transient: true });
    assert.deepEqual(classifyHttp(http(504), true), { kind: 'rejected', transient: true });
    assert.deepEqual(classifyHttp(http(500), true), { kind: 'rejected', transient: false });
    const withHeaders = Object.assign(new Error('503'), {
      status: 503,
      headers: new Headers({ 'Retry-After': '1' }),
    });
    assert.equal((classifyHttp(withHeaders, true) as { retryAfterMs?: number }).retryAfterMs, 1000);
  });
});
