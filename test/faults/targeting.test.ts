import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { FaultProxy, type ToxicTarget } from '../../src/faults/index.js';
import { connect, echoServer, proxyTo, sleep, tcpServer, until } from './helpers.js';

const timeout = 10_000;

/** Opens `count` connections one after another; each sends a byte and reports 'echo' or how it failed. */
async function probeConnections(port: number, count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < count; i++) {
    const client = await connect(port);
    client.socket.write('x');
    const outcome = await Promise.race([client.received(1).then(() => 'echo'), client.finished]);
    outcomes.push(outcome);
    client.socket.destroy();
  }
  return outcomes;
}

/** An echo server behind a proxy that resets, on their first byte upstream, the connections `target` picks. */
async function resettingEcho(t: TestContext, target: ToxicTarget): Promise<number> {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  proxy.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 }, target });
  return port;
}

test('target.connection: only the Nth connection is reset', { timeout }, async (t) => {
  const port = await resettingEcho(t, { connection: 2 });
  assert.deepEqual(await probeConnections(port, 3), ['echo', 'ECONNRESET', 'echo']);
});

test('target.afterBytes: the query reaches the server, the reply is an RST (outcome unknown)', {
  timeout,
}, async (t) => {
  let serverGot = '';
  const server = await tcpServer(t, (socket) =>
    socket.on('data', (d: Buffer) => {
      serverGot += d.toString();
      socket.write(`re:${d}`);
    }),
  );
  const { proxy, port } = await proxyTo(t, server.address);
  const client = await connect(port);
  client.socket.write('q1');
  await client.received(5);
  const seen = proxy.connections()[0]?.bytes.downstream ?? -1;
  assert.equal(seen, 5);
  proxy.addToxic({
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { afterBytes: seen },
  });
  client.socket.write('q2');
  assert.equal(await client.finished, 'ECONNRESET');
  assert.equal(serverGot, 'q1q2', 'the second query was forwarded before the reset');
  assert.equal(client.text(), 're:q1', 'no byte of the second reply reached the client');
});

test('target.afterBytes splits a chunk exactly at the mark', { timeout }, async (t) => {
  const server = await tcpServer(t, (socket) => socket.write('helloworld'));
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ type: 'timeout', attributes: { timeout: 0 }, target: { afterBytes: 5 } });
  const client = await connect(port);
  await client.received(5);
  await sleep(50);
  assert.equal(client.text(), 'hello');
  client.socket.destroy();
});

test('target.idleMs: a request on a connection idle long enough is reset, busy ones are not', {
  timeout,
}, async (t) => {
  const port = await resettingEcho(t, { idleMs: 500 });
  const client = await connect(port);
  client.socket.write('a');
  await client.received(1);
  client.socket.write('b');
  await client.received(2);
  await sleep(800);
  client.socket.write('c');
  assert.equal(await client.finished, 'ECONNRESET');
  assert.equal(client.text(), 'ab');
});

test('toxicity with a seed: the same seed resets the same connections, every run', { timeout }, async (t) => {
  const echo = await echoServer(t);
  const run = async (seed: number) => {
    const { proxy, port } = await proxyTo(t, echo.address, { seed });
    proxy.addToxic({ name: 'flaky', type: 'reset_peer', stream: 'upstream', toxicity: 0.5 });
    const outcomes = await probeConnections(port, 16);
    return outcomes.map((o, i) => (o === 'ECONNRESET' ? i + 1 : 0)).filter(Boolean);
  };
  const first = await run(42);
  const second = await run(42);
  assert.deepEqual(second, first);
  assert.ok(first.length > 0 && first.length < 16, `affected: ${first}`);
  assert.notDeepEqual(await run(7), first);
});

test('toxics added, updated and removed at runtime act on live connections, data kept in order', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  const client = await connect(port);
  proxy.addToxic({ name: 'slow', type: 'latency', attributes: { latency: 200 } });
  for (let i = 0; i < 10; i++) client.socket.write(`${i}`);
  proxy.updateToxic('slow', { attributes: { latency: 100 } });
  client.socket.write('A');
  proxy.removeToxic('slow');
  client.socket.write('B');
  await client.received(12);
  assert.equal(client.text(), '0123456789AB');
  assert.deepEqual(proxy.toxics(), []);
  client.socket.destroy();
  await until(() => proxy.connections().length === 0);
});

test('bad input to the library: typed errors with stable codes that name the field', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy } = await proxyTo(t, echo.address);
  proxy.addToxic({ name: 'l', type: 'latency', attributes: { latency: 10 } });
  assert.throws(() => proxy.addToxic({ name: 'l', type: 'latency', attributes: { latency: 1 } }), {
    code: 'LIFELINE_TOXIC_EXISTS',
  });
  assert.throws(() => proxy.removeToxic('nope'), { code: 'LIFELINE_TOXIC_NOT_FOUND' });
  assert.throws(() => proxy.addToxic({ type: 'latency', attributes: {} }), {
    code: 'LIFELINE_INVALID_TOXIC',
    message: /missing attribute latency/,
  });
  assert.throws(
    () => proxy.addToxic({ type: 'latency', attributes: { latency: -1 } }),
    /latency .* from 0 to/,
  );
  assert.throws(
    () => proxy.addToxic({ type: 'latency', attributes: { latency: 1, latncy: 2 } }),
    /unknown attribute "latncy"/,
  );
  assert.throws(
    () => proxy.addToxic({ type: 'latency', toxicity: 2, attributes: { latency: 1 } }),
    /toxicity/,
  );
  assert.throws(
    () => proxy.addToxic({ type: 'slicer', attributes: { average_size: 10, size_variation: 10 } }),
    /size_variation/,
  );
  assert.throws(() => proxy.addToxic({ type: 'reset_peer', target: { connection: 0 } }), /target.connection/);
  const other = await proxyTo(t, echo.address);
  const clash = new FaultProxy({
    upstream: echo.address,
    listen: `127.0.0.1:${other.port}`,
  });
  await assert.rejects(clash.start(), { code: 'LIFELINE_ADDRESS_IN_USE' });
  const elsewhere = new FaultProxy({ upstream: echo.address, listen: '192.0.2.1:0' });
  await assert.rejects(elsewhere.start(), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'LIFELINE_INVALID_PROXY');
    assert.equal((error.cause as { code?: string }).code, 'EADDRNOTAVAIL');
    return true;
  });
});
