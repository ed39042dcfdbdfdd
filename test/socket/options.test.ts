// Options are validated once, at construction, with messages naming the option; capabilities() reports
// what the kernel really took.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError } from '../../src/core/options.js';
import {
  LiveSocket,
  type LiveSocketConnectOptions,
  type SocketCapabilities,
} from '../../src/socket/index.js';
import { startServer } from './support.js';

const T = { timeout: 15_000 };
const base = { host: '127.0.0.1', port: 1 };

const bad: [string, Record<string, unknown>][] = [
  ['keepaliveIdleMs', { keepaliveIdleMs: -1 }],
  ['keepaliveIdleMs', { keepaliveIdleMs: 500 }],
  ['keepaliveIdleMs', { keepaliveIdleMs: 1500 }],
  ['keepaliveIntervalMs', { keepaliveIntervalMs: 500 }],
  ['keepaliveIntervalMs', { keepaliveIntervalMs: Number.NaN }],
  ['keepaliveCount', { keepaliveCount: 0 }],
  ['keepaliveCount', { keepaliveCount: 2.5 }],
  ['userTimeoutMs', { userTimeoutMs: -5 }],
  ['writeStallMs', { writeStallMs: Number.NaN }],
  ['writeStallMs', { writeStallMs: 2 ** 31 }],
  ['readTimeoutMs', { readTimeoutMs: '100' }],
  ['idleData', { idleData: 'sometimes' }],
  ['closeTimeoutMs', { closeTimeoutMs: -1 }],
  ['connectTimeoutMs', { connectTimeoutMs: Number.POSITIVE_INFINITY }],
  ['port', { port: 70000 }],
  ['host', { host: 42 }],
  ['keepAliveIdleMs', { keepAliveIdleMs: 1000 }],
];

for (const [option, patch] of bad) {
  test(`connect rejects a bad ${option} (${String(Object.values(patch)[0])}) naming the option`, () => {
    assert.throws(
      () => LiveSocket.connect({ ...base, ...patch } as unknown as LiveSocketConnectOptions),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError, String(error));
        assert.equal(error.option, option);
        assert.match(error.message, new RegExp(option));
        return true;
      },
    );
  });
}

test('wrap validates too, and a socket is wrapped once', T, async () => {
  const server = await startServer();
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  assert.throws(() => LiveSocket.wrap(socket, { writeStallMs: -1 }), /writeStallMs/);
  assert.throws(
    () => LiveSocket.wrap(socket, { tls: {} } as never),
    /tls/,
    'connect-only options are unknown to wrap',
  );
  const live = LiveSocket.wrap(socket);
  assert.throws(() => LiveSocket.wrap(socket), /already wrapped/);
  assert.throws(() => live.expectReply(-1), /timeoutMs/);
  await live.ready();
  live.destroy();
  await server.close();
});

test('capabilities() reports the keepalive and user timeout the kernel took', T, async (t) => {
  const server = await startServer();
  const live = LiveSocket.connect({
    host: '127.0.0.1',
    port: server.port,
    keepaliveIdleMs: 2000,
    keepaliveIntervalMs: 1000,
    keepaliveCount: 4,
    userTimeoutMs: 1500,
  });
  await live.ready();
  const caps = live.capabilities();
  if (caps.keepalive === 'node') {
    // net-keepalive could not load here: the report must say so rather than pretend.
    assert.equal(caps.userTimeout, 'unavailable');
    assert.ok(
      caps.reasons.some((reason) => /net-keepalive/.test(reason)),
      caps.reasons.join('; '),
    );
    t.diagnostic(`native helper unavailable: ${caps.reasons.join('; ')}`);
  } else {
    assert.deepEqual(caps, {
      keepalive: 'native',
      keepaliveIdleMs: 2000,
      keepaliveIntervalMs: 1000,
      keepaliveCount: 4,
      userTimeout: 'native',
      userTimeoutMs: 1500,
      reasons: [],
    });
  }
  live.destroy();
  await server.close();
});

test('keepalive and user timeout can be turned off (0)', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({
    host: '127.0.0.1',
    port: server.port,
    keepaliveIdleMs: 0,
    userTimeoutMs: 0,
  });
  await live.ready();
  const caps = live.capabilities();
  assert.equal(caps.keepalive, 'off');
  assert.equal(caps.userTimeout, 'off');
  live.destroy();
  await server.close();
});

test('without net-keepalive, capabilities() says so and only the idle time is set', T, async () => {
  const script = `
    import net from 'node:net';
    import { LiveSocket } from ${JSON.stringify(new URL('../../src/socket/index.ts', import.meta.url).href)};
    const server = net.createServer((s) => s.resume()).listen(0, '127.0.0.1', async () => {
      const live = LiveSocket.connect({ host: '127.0.0.1', port: server.address().port, keepaliveIdleMs: 3000 });
      await live.ready();
      console.log(JSON.stringify(live.capabilities()));
      live.destroy();
      server.close();
    });
  `;
  const fixture = fileURLToPath(new URL('./fixtures/without-net-keepalive.cjs', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--require', fixture, '--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  const caps = JSON.parse(output) as SocketCapabilities;
  assert.equal(caps.keepalive, 'node');
  assert.equal(caps.keepaliveIdleMs, 3000);
  assert.equal(caps.keepaliveIntervalMs, undefined);
  assert.equal(caps.userTimeout, 'unavailable');
  assert.equal(caps.reasons.length, 2);
  for (const reason of caps.reasons) assert.match(reason, /net-keepalive could not load/);
});
