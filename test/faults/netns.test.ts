// The network-namespace helper against the real kernel: addresses, relay, blackhole/heal, loss, and
// cleanup (on destroy, and of what a killed process left behind).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { LifelineError } from '../../src/core/errors.js';
import { NetemUnavailableError, NetnsHost } from '../../src/faults/netns.js';
import { requireNetns } from '../support/tools.js';

const T = { timeout: 30_000 };

function namespaces(): string {
  return execFileSync('ip', ['netns', 'list']).toString();
}

function inRange(address: string): boolean {
  const [a, b] = address.split('.').map(Number);
  return a === 198 && (b === 18 || b === 19);
}

/** Connects, sends a line, and resolves with the echoed reply; rejects when the connect does not complete. */
function roundTrip(host: string, port: number, connectTimeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(connectTimeoutMs, () => socket.destroy(new Error('no answer')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write('ping'));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(String(chunk));
    });
  });
}

async function echoServer(address: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk) => socket.write(chunk));
  });
  server.listen(0, address);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('two hosts get distinct /30s in 198.18.0.0/15 and serve an in-process server', T, async (t) => {
  if (!requireNetns(t)) return;
  const a = await NetnsHost.create();
  const b = await NetnsHost.create({ prefix: 'lltest' });
  try {
    for (const host of [a, b]) {
      assert.ok(
        inRange(host.address) && inRange(host.gatewayAddress),
        `${host.gatewayAddress} ${host.address}`,
      );
    }
    assert.notEqual(a.address, b.address);
    assert.match(b.name, /^lltest-\d+-\d+$/);
    const server = await echoServer(a.gatewayAddress);
    try {
      const endpoint = await a.serve(server.port);
      assert.equal(endpoint.host, a.address);
      assert.equal(await roundTrip(endpoint.host, endpoint.port, 5000), 'ping');
    } finally {
      await server.close();
    }
    const inside = a.run('ip', ['-o', 'addr', 'show']);
    assert.ok(inside.pid);
    await once(inside, 'exit');
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

test('blackhole drops silently, heal restores, loss(100) drops everything', T, async (t) => {
  if (!requireNetns(t)) return;
  const host = await NetnsHost.create();
  const server = await echoServer(host.gatewayAddress);
  try {
    const { port } = await host.serve(server.port);
    await host.blackhole();
    // No RST and no ICMP: the connect simply gets no answer (not ECONNREFUSED / EHOSTUNREACH).
    await assert.rejects(roundTrip(host.address, port, 500), /no answer/);
    await host.heal();
    assert.equal(await roundTrip(host.address, port, 5000), 'ping');
    await host.loss(100);
    await assert.rejects(roundTrip(host.address, port, 500), /no answer/);
    await host.loss(0);
    assert.equal(await roundTrip(host.address, port, 5000), 'ping');
    assert.throws(() => host.loss(150), { code: 'LIFELINE_INVALID_OPTION', message: /percent/ });
    assert.throws(() => host.loss(Number.NaN), { code: 'LIFELINE_INVALID_OPTION', message: /percent/ });
    assert.throws(
      () => host.delay(100),
      (error: unknown) =>
        error instanceof NetemUnavailableError &&
        error instanceof LifelineError &&
        error.code === 'LIFELINE_NETEM_UNAVAILABLE' &&
        /latency toxic/.test(error.message),
    );
  } finally {
    await server.close();
    await host.destroy();
  }
});

test(
  'serve gives up by its deadline when the relay cannot be reached (the host is blackholed)',
  T,
  async (t) => {
    if (!requireNetns(t)) return;
    const host = await NetnsHost.create();
    const server = await echoServer(host.gatewayAddress);
    try {
      await host.blackhole();
      // The probe's SYNs are dropped: without a bound it would wait out the kernel's SYN retries (minutes).
      await assert.rejects(host.serve(server.port), {
        code: 'LIFELINE_NETNS_COMMAND_FAILED',
        message: /socat relay on .*: no connection accepted within 5 s/,
      });
    } finally {
      await server.close();
      await host.destroy();
    }
  },
);

test('bad options are LifelineErrors with a stable code, checked before the environment', async () => {
  for (const options of [{ prefix: 'Bad!' }, { prefix: 'toolongx' }, { prefx: 'll' }, { prefix: 7 }]) {
    await assert.rejects(NetnsHost.create(options as never), {
      code: 'LIFELINE_INVALID_OPTION',
      message: /^NetnsHost option "prefi?x"/,
    });
  }
});

test('destroy removes the namespace, its veth and its processes', T, async (t) => {
  if (!requireNetns(t)) return;
  const host = await NetnsHost.create();
  const sleeper = host.run('sleep', ['60']);
  assert.match(namespaces(), new RegExp(host.name));
  const exited = once(sleeper, 'exit');
  await host.destroy();
  await exited;
  assert.doesNotMatch(namespaces(), new RegExp(host.name));
  const links = execFileSync('ip', ['-o', 'addr', 'show']).toString();
  assert.doesNotMatch(links, new RegExp(host.gatewayAddress.replaceAll('.', '\\.')));
  await host.destroy(); // idempotent
});

test('leftovers of a killed process are removed at the next create', T, async (t) => {
  if (!requireNetns(t)) return;
  // A child creates a host with a process inside, reports its name, and is SIGKILLed: no cleanup runs.
  const script = `
    import { NetnsHost } from ${JSON.stringify(new URL('../../src/faults/netns.ts', import.meta.url).href)};
    const host = await NetnsHost.create();
    host.run('sleep', ['60']);
    console.log(host.name);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const leftover = String(line).trim();
  assert.match(namespaces(), new RegExp(leftover));
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.match(namespaces(), new RegExp(leftover), 'SIGKILL left the namespace behind');
  const host = await NetnsHost.create();
  try {
    assert.doesNotMatch(namespaces(), new RegExp(leftover));
    const locks = fs
      .readdirSync('/run/lifeline-netns')
      .map((f) => fs.readFileSync(`/run/lifeline-netns/${f}`, 'utf8'));
    assert.ok(!locks.some((lock) => lock.includes(leftover)));
  } finally {
    await host.destroy();
  }
});

for (const ending of ['exit', 'SIGTERM'] as const) {
  test(`a process that ends by ${ending} without destroy() leaves no namespace`, T, async (t) => {
    if (!requireNetns(t)) return;
    const script = `
      import { NetnsHost } from ${JSON.stringify(new URL('../../src/faults/netns.ts', import.meta.url).href)};
      const host = await NetnsHost.create();
      host.run('sleep', ['60']);
      console.log(host.name);
      if (${JSON.stringify(ending)} === 'exit') process.exit(0);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const name = String(line).trim();
    if (ending === 'SIGTERM') child.kill('SIGTERM');
    const [code, signal] = await once(child, 'exit');
    assert.deepEqual([code, signal], ending === 'exit' ? [0, null] : [null, 'SIGTERM']);
    assert.doesNotMatch(namespaces(), new RegExp(name));
  });
}
