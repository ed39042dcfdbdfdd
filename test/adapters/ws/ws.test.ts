// WebSockets that know when they are dead (incident 1): a `ws` client and the server's accepted sockets,
// through lifeline's fault proxy. A half-open peer is made with the proxy's `timeout` toxic (it holds every
// byte both ways while both TCP connections stay up, as a dead middlebox path does); the heartbeat runs with
// short settings so the test is quick. The defaults' bound is checked on the defaults themselves.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import {
  heartbeatDefaults,
  type LiveConnections,
  type WatchedWebSocket,
  watch,
  watchServer,
} from '../../../src/adapters/ws/index.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import type { FaultProxy } from '../../../src/faults/index.js';
import { NetnsHost } from '../../../src/faults/index.js';
import { proxyTo, sleep, until } from '../../faults/helpers.js';
import { requireNetns } from '../../support/tools.js';

const FAST = { heartbeat: { intervalMs: 100, timeoutMs: 200 } };

async function wsServer(
  t: TestContext,
): Promise<{ server: WebSocketServer; connections: LiveConnections; proxy: FaultProxy; port: number }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const connections = watchServer(server, FAST);
  t.after(() => {
    for (const client of server.clients) client.terminate();
    server.close();
  });
  const { port: upstream } = server.address() as AddressInfo;
  const { proxy, port } = await proxyTo(t, `127.0.0.1:${upstream}`);
  return { server, connections, proxy, port };
}

async function client(t: TestContext, port: number, host = '127.0.0.1'): Promise<WatchedWebSocket> {
  const ws = new WebSocket(`ws://${host}:${port}`);
  const watched = watch(ws, FAST);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  return watched;
}

function holdEverything(proxy: FaultProxy): void {
  proxy.addToxic({ name: 'hold-up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
  proxy.addToxic({ name: 'hold-down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
}

test('the defaults find a half-open peer within 30 s (interval + timeout)', () => {
  assert.ok(heartbeatDefaults.intervalMs + heartbeatDefaults.timeoutMs <= 30_000);
});

test('an idle, healthy connection stays open across many heartbeats on both sides', {
  timeout: 10_000,
}, async (t) => {
  const { connections, port } = await wsServer(t);
  const watched = await client(t, port);
  await until(() => connections.list().length === 1);
  await sleep(1000); // ten heartbeat intervals with no application data
  assert.equal(watched.state, 'open');
  assert.equal(watched.closeReason, undefined);
  assert.deepEqual(
    connections.list().map((c) => c.state),
    ['open'],
  );
});

test('a half-open peer is found by the heartbeat on both sides; the server stops listing it', {
  timeout: 10_000,
}, async (t) => {
  const { connections, proxy, port } = await wsServer(t);
  const watched = await client(t, port);
  await until(() => connections.list().length === 1);
  const [accepted] = [...connections.server.clients];
  const serverSide = connections.of(accepted as WebSocket);
  assert.ok(serverSide);
  holdEverything(proxy);
  // Both TCP connections are still up: only the heartbeat can tell.
  const [clientReason] = await once(watched, 'dead');
  const [serverReason] = serverSide.closeReason ? [serverSide.closeReason] : await once(serverSide, 'dead');
  assert.equal(clientReason.cause, 'heartbeat');
  assert.equal(clientReason.error?.code, 'LIFELINE_WS_HEARTBEAT_TIMEOUT');
  assert.equal(serverReason.cause, 'heartbeat');
  assert.equal(watched.state, 'closed');
  assert.deepEqual(connections.list(), []);
});

test('the server lists only live connections: a reset one leaves, a clean close leaves with its code', {
  timeout: 10_000,
}, async (t) => {
  const { connections, port } = await wsServer(t);
  const a = await client(t, port);
  const b = await client(t, port);
  const c = await client(t, port);
  await until(() => connections.list().length === 3);
  b.live?.destroy(); // b's socket goes away without a close frame
  c.close(4000, 'bye');
  await until(() => connections.list().length === 1);
  const [only] = connections.list();
  assert.equal(only?.state, 'open');
  assert.equal(a.state, 'open');
  assert.equal(c.closeReason?.cause, 'close-frame');
  assert.equal(c.closeReason?.code, 4000);
  // Whatever the moment, a listed connection is never one whose watch knows it dead.
  for (const info of connections.list()) assert.notEqual(info.state, 'closed');
});

test('bad heartbeat options are refused at construction', () => {
  const ws = new WebSocket('ws://127.0.0.1:1');
  ws.on('error', () => {});
  assert.throws(() => watch(ws, { heartbeat: { intervalMs: -1 } }), InvalidOptionError);
  assert.throws(() => watch(ws, { heartbeat: { timeoutMs: Number.NaN } }), InvalidOptionError);
  ws.terminate();
});

test('kernel-level silence (iptables DROP in a network namespace) is found by the heartbeat on both sides', {
  timeout: 20_000,
}, async (t) => {
  if (!requireNetns(t)) return;
  const host = await NetnsHost.create();
  t.after(() => host.destroy());
  const server = new WebSocketServer({ port: 0, host: host.gatewayAddress });
  await once(server, 'listening');
  const connections = watchServer(server, FAST);
  t.after(() => {
    for (const c of server.clients) c.terminate();
    server.close();
  });
  const { port } = await host.serve((server.address() as AddressInfo).port);
  const watched = await client(t, port, host.address);
  await until(() => connections.list().length === 1);
  const serverSide = connections.of([...server.clients][0] as WebSocket);
  assert.ok(serverSide);
  await host.blackhole();
  const [reason] = await once(watched, 'dead');
  assert.equal(reason.cause, 'heartbeat');
  await until(() => serverSide.closeReason !== undefined);
  assert.equal(serverSide.closeReason?.cause, 'heartbeat');
  assert.deepEqual(connections.list(), []);
});
