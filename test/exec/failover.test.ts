import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Attempt,
  classifyPostgres,
  execute,
  type FailoverEvent,
  type Host,
  type HostRole,
  HostSet,
  type HostSetOptions,
  NoHealthyHostError,
  type Route,
} from '../../src/index.js';
import { PgCluster } from '../support/pg-cluster.js';
import { requireCapability } from '../support/services.js';
import { rejectionOf } from './observe.js';
import { admin, sentQuery, withClient } from './pg-op.js';

// Which server answered, and whether it is a standby.
async function whoAnswers(attempt: Attempt): Promise<{ port: number; standby: boolean }> {
  const host = attempt.host as Host;
  return withClient(attempt, host, async (client) => {
    const { rows } = await sentQuery<{ port: number; standby: boolean }>(
      client,
      attempt,
      'select inet_server_port() as port, pg_is_in_recovery() as standby',
    );
    return rows[0] as { port: number; standby: boolean };
  });
}

// A health probe that also reports the role, so a promoted standby starts taking writes.
async function probe(host: Host, signal: AbortSignal): Promise<HostRole> {
  const deadline = Date.now() + 1000;
  const attempt: Attempt = {
    signal,
    number: 1,
    deadline,
    host,
    timeLeftMs: () => Math.max(0, deadline - Date.now()),
    onAbort() {},
    markSent() {},
  };
  const { standby } = await whoAnswers(attempt);
  return standby ? 'replica' : 'primary';
}

async function until(condition: () => boolean, what: string): Promise<void> {
  // Polls; the cap only stops a loop that would outlive a timed-out test and keep the process alive.
  for (let i = 0; !condition(); i++) {
    if (i === 4000) throw new Error(`gave up waiting for ${what}`);
    await sleep(25);
  }
}

describe('execute() with a HostSet over a real primary and streaming standby', { timeout: 120_000 }, () => {
  let primary: PgCluster | undefined;
  let standby: PgCluster | undefined;
  const sets: HostSet[] = [];

  before(async () => {
    if (PgCluster.unsupported() !== undefined) return;
    primary = await PgCluster.start();
    standby = await PgCluster.start({ standbyOf: primary });
  });

  after(() => {
    for (const set of sets) set.close();
    standby?.destroy();
    primary?.destroy();
  });

  function hostSet(options: HostSetOptions = {}): HostSet {
    const p = primary as PgCluster;
    const s = standby as PgCluster;
    const set = new HostSet(
      [
        { host: p.host, port: p.port, role: 'primary', name: 'primary' },
        { host: s.host, port: s.port, role: 'replica', name: 'standby' },
      ],
      { breaker: { consecutiveFailures: 2, coolDownMs: 100 }, ...options },
    );
    sets.push(set);
    return set;
  }

  const run = (hosts: HostSet, route: Route, events = {}) =>
    execute(whoAnswers, { hosts, route, classify: classifyPostgres, retry: { baseDelayMs: 1 }, events });

  test('writes go to the primary, reads to the standby', async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const hosts = hostSet();
    const write = await run(hosts, 'write');
    const read = await run(hosts, 'read');
    assert.deepEqual(write, { port: primary?.port, standby: false });
    assert.deepEqual(read, { port: standby?.port, standby: true });
  });

  test('a read fails over to the primary when the standby is lost, and returns when it is back', async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const hosts = hostSet(); // no probe: the breaker's half-open calls are the probes
    const failovers: FailoverEvent[] = [];
    (standby as PgCluster).stop('immediate');
    try {
      const read = await run(hosts, 'read', { onFailover: (e: FailoverEvent) => failovers.push(e) });
      assert.deepEqual(read, { port: primary?.port, standby: false });
      assert.deepEqual(
        failovers.map((e) => `${e.from.name}→${e.to.name}`),
        ['standby→primary'],
      );
      assert.equal((failovers[0]?.error as { code?: string } | undefined)?.code, 'ECONNREFUSED');
    } finally {
      (standby as PgCluster).start();
    }
    // Reads keep working while the standby's breaker decides; once it lets a probe through, reads return to it.
    await until(() => hosts.hosts[1]?.breaker.allows() === true, 'the standby breaker to allow a probe');
    const back = await run(hosts, 'read');
    assert.deepEqual(back, { port: standby?.port, standby: true });
    assert.equal(hosts.hosts[1]?.healthy, true);
  });

  test('losing the primary: writes fail fast with NoHealthyHostError, reads go on, and it rejoins after probes', async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const hosts = hostSet({ probe, probeIntervalMs: 50, probeSuccesses: 2 });
    (primary as PgCluster).stop('fast');
    try {
      const error = await rejectionOf(run(hosts, 'write'), 'no primary is running');
      assert.ok(error instanceof NoHealthyHostError, `got ${String(error)}`);
      assert.equal(error.code, 'LIFELINE_NO_HEALTHY_HOST');
      assert.match(error.message, /primary primary open/);
      const read = await run(hosts, 'read');
      assert.deepEqual(read, { port: standby?.port, standby: true });
    } finally {
      (primary as PgCluster).start();
    }
    await until(() => hosts.hosts[0]?.healthy === true, 'the primary to pass its probes');
    const write = await run(hosts, 'write');
    assert.deepEqual(write, { port: primary?.port, standby: false });
  });

  test('a promoted standby is found by the probe and takes the writes', async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    const hosts = hostSet({ probe, probeIntervalMs: 50 });
    (primary as PgCluster).stop('fast');
    (standby as PgCluster).promote();
    await until(() => hosts.hosts[1]?.role === 'primary', 'the probe to see the promotion');
    const write = await run(hosts, 'write');
    assert.deepEqual(write, { port: standby?.port, standby: false });
    await admin(standby as PgCluster, (c) => c.query('create table promoted_ok (id int)'));
  });
});
