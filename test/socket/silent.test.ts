// Silent death: the peer lives in a network namespace and its packets are dropped in the kernel, so no
// FIN, no RST, no ICMP. Only TCP_USER_TIMEOUT (data outstanding) and keepalive (idle) can notice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetnsHost } from '../../src/faults/netns.js';
import {
  ConnectFailedError,
  KeepaliveTimeoutError,
  LiveSocket,
  UserTimeoutError,
} from '../../src/socket/index.js';
import { requireNetns } from '../support/tools.js';
import { deathOf, startServer } from './support.js';

const T = { timeout: 30_000 };
// Small settings so the test is quick; the kernel counts keepalive in whole seconds.
const settings = { keepaliveIdleMs: 1000, keepaliveIntervalMs: 1000, keepaliveCount: 2, userTimeoutMs: 1500 };

async function silentPeer(body: (live: LiveSocket, host: NetnsHost) => Promise<void>): Promise<void> {
  const host = await NetnsHost.create();
  const server = await startServer(undefined, host.gatewayAddress);
  try {
    const endpoint = await host.serve(server.port);
    const live = LiveSocket.connect({ ...endpoint, ...settings, writeStallMs: 0 });
    try {
      await live.ready();
      await body(live, host);
    } finally {
      live.destroy();
    }
  } finally {
    await host.destroy();
    await server.close();
  }
}

test('busy: data unacknowledged behind a blackhole dies of user-timeout', T, async (t) => {
  if (!requireNetns(t)) return;
  await silentPeer(async (live, host) => {
    if (live.capabilities().userTimeout !== 'native') {
      t.skip(`TCP_USER_TIMEOUT unavailable: ${live.capabilities().reasons.join('; ')}`);
      return;
    }
    await host.blackhole();
    live.socket.write('a request that will never be acknowledged\n');
    const death = await deathOf(live);
    assert.equal(death.cause, 'user-timeout');
    assert.ok(death.error instanceof UserTimeoutError);
    assert.equal(death.error.code, 'LIFELINE_USER_TIMEOUT');
    assert.equal((death.error.cause as NodeJS.ErrnoException).code, 'ETIMEDOUT');
    assert.equal(live.state, 'closed');
  });
});

test('idle: nothing outstanding behind a blackhole dies of keepalive', T, async (t) => {
  if (!requireNetns(t)) return;
  await silentPeer(async (live, host) => {
    // Traffic before the fault, answered and acknowledged: the connection is idle, not busy, when it dies.
    live.socket.write('hello\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await host.blackhole();
    const death = await deathOf(live);
    assert.equal(death.cause, 'keepalive');
    assert.ok(death.error instanceof KeepaliveTimeoutError);
    assert.equal(death.error.code, 'LIFELINE_KEEPALIVE_TIMEOUT');
    assert.equal(live.state, 'closed');
  });
});

test('healed before the timeouts: the connection survives', T, async (t) => {
  if (!requireNetns(t)) return;
  await silentPeer(async (live, host) => {
    await host.blackhole();
    live.socket.write('delayed, not lost\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await host.heal();
    // Longer than every setting: retransmission got through after healing, so nothing died.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.equal(live.death, undefined);
    assert.equal(live.usable, true);
  });
});

test('a connect into a blackhole ends at connectTimeoutMs as connect-failed', T, async (t) => {
  if (!requireNetns(t)) return;
  const host = await NetnsHost.create();
  const server = await startServer(undefined, host.gatewayAddress);
  try {
    const endpoint = await host.serve(server.port);
    await host.blackhole();
    const live = LiveSocket.connect({ ...endpoint, connectTimeoutMs: 300 });
    await assert.rejects(live.ready(), (error: unknown) => {
      assert.ok(error instanceof ConnectFailedError);
      assert.match(error.message, /connectTimeoutMs/);
      return true;
    });
    assert.equal(live.death?.cause, 'connect-failed');
    assert.equal(live.state, 'closed');
  } finally {
    await host.destroy();
    await server.close();
  }
});
