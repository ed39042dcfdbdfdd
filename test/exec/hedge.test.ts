import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaultProxy } from '../../src/faults/index.js';
import {
  type Attempt,
  type AttemptEvent,
  classifyPostgres,
  ExecAbortedError,
  execute,
  type Host,
  HostSet,
} from '../../src/index.js';
import { requireService, services } from '../support/services.js';
import { sentQuery, withClient } from './pg-op.js';

describe('hedging against two paths to a real Postgres, one of them slow', { timeout: 30_000 }, () => {
  let slow: FaultProxy;
  let fast: FaultProxy;
  let hosts: HostSet;

  before(async () => {
    const upstream = `${services.postgres.host}:${services.postgres.port}`;
    slow = new FaultProxy({ listen: '127.0.0.1:0', upstream });
    fast = new FaultProxy({ listen: '127.0.0.1:0', upstream });
    const a = await slow.start();
    const b = await fast.start();
    slow.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 5000 } });
    hosts = new HostSet([
      { ...a, role: 'replica', name: 'slow' },
      { ...b, role: 'replica', name: 'fast' },
    ]);
  });

  after(async () => {
    hosts.close();
    await slow.stop();
    await fast.stop();
  });

  test('the hedge on the other host wins and the slow attempt is aborted', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const signals = new Map<number, AbortSignal>();
    const started: AttemptEvent[] = [];
    const answer = await execute(
      (attempt: Attempt) => {
        signals.set(attempt.number, attempt.signal);
        const host = attempt.host as Host;
        return withClient(attempt, host, async (client) => {
          await sentQuery(client, attempt, 'select 1');
          return host.name;
        });
      },
      {
        hosts,
        route: 'read',
        idempotent: true,
        hedge: { delayMs: 50 },
        classify: classifyPostgres,
        deadlineMs: 20_000,
        events: { onAttempt: (e) => started.push(e) },
      },
    );
    assert.equal(answer, 'fast');
    assert.deepEqual(
      started.map((e) => [e.attempt, e.host?.name, e.hedge]),
      [
        [1, 'slow', false],
        [2, 'fast', true],
      ],
    );
    assert.equal(signals.get(1)?.aborted, true, 'the losing attempt was aborted');
    assert.ok(signals.get(1)?.reason instanceof ExecAbortedError);
    assert.equal(signals.get(2)?.aborted, false);
  });
});
