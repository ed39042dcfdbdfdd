import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { toxicDefinitions } from '../../src/faults/index.js';
import { connect, echoServer, observe, proxyTo, sleep, stageHarness, tcpServer, until } from './helpers.js';

const timeout = 10_000;

test('no toxic: a megabyte echoes back byte for byte, in order', { timeout }, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  const client = await connect(port);
  const payload = randomBytes(1 << 20);
  client.socket.write(payload);
  await client.received(payload.length);
  assert.ok(Buffer.concat(client.chunks).equals(payload));
  assert.deepEqual(proxy.connections()[0]?.bytes, { upstream: payload.length, downstream: payload.length });
  client.socket.destroy();
});

test('latency: the delayed connection answers after the plain one, bytes intact', { timeout }, async (t) => {
  const echo = await echoServer(t);
  const slow = await proxyTo(t, echo.address);
  const fast = await proxyTo(t, echo.address);
  slow.proxy.addToxic({ type: 'latency', stream: 'downstream', attributes: { latency: 300, jitter: 20 } });
  const a = await connect(slow.port);
  const b = await connect(fast.port);
  const order: string[] = [];
  a.socket.once('data', () => order.push('latency'));
  b.socket.once('data', () => order.push('plain'));
  a.socket.write('ping-a');
  b.socket.write('ping-b');
  await Promise.all([a.received(6), b.received(6)]);
  assert.deepEqual(order, ['plain', 'latency']);
  assert.equal(a.text(), 'ping-a');
  a.socket.destroy();
  b.socket.destroy();
});

test('bandwidth: a rate-limited transfer finishes after an unlimited one, complete', {
  timeout,
}, async (t) => {
  const payload = randomBytes(200_000);
  const server = await tcpServer(t, (socket) => socket.end(payload));
  const limited = await proxyTo(t, server.address);
  const free = await proxyTo(t, server.address);
  limited.proxy.addToxic({ type: 'bandwidth', attributes: { rate: 1000 } }); // 1 MB/s: 200 ms
  const order: string[] = [];
  const a = await connect(limited.port);
  const b = await connect(free.port);
  a.finished.then(() => order.push('limited'));
  b.finished.then(() => order.push('free'));
  await Promise.all([a.finished, b.finished]);
  assert.deepEqual(order, ['free', 'limited']);
  assert.ok(Buffer.concat(a.chunks).equals(payload));
  assert.ok(a.chunks.length > 1, 'the limited transfer arrives in pieces');
});

test('slow_close: data arrives at once, the FIN only after a plain connection’s', { timeout }, async (t) => {
  const server = await tcpServer(t, (socket) => socket.end('bye'));
  const slow = await proxyTo(t, server.address);
  const plain = await proxyTo(t, server.address);
  slow.proxy.addToxic({ type: 'slow_close', attributes: { delay: 300 } });
  const order: string[] = [];
  const a = await connect(slow.port);
  a.socket.once('data', () => order.push('slow data'));
  a.finished.then((how) => order.push(`slow ${how}`));
  await a.received(3);
  const b = await connect(plain.port);
  b.finished.then((how) => order.push(`plain ${how}`));
  await Promise.all([a.finished, b.finished]);
  assert.equal(a.text(), 'bye');
  assert.deepEqual(order, ['slow data', 'plain end', 'slow end']);
});

test('timeout 0: a black hole — writes vanish and the socket stays open and silent; removing it closes the connection', {
  timeout,
}, async (t) => {
  const serverSaw: Promise<string>[] = [];
  const echo = await tcpServer(t, (socket) => {
    serverSaw.push(observe(socket).finished);
    socket.pipe(socket);
  });
  const { proxy, port } = await proxyTo(t, echo.address);
  const client = await connect(port);
  proxy.addToxic({ name: 'hole', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
  client.socket.write('into the void');
  // A round trip on a second, healthy path through the same echo server shows time has passed.
  const plain = await proxyTo(t, echo.address);
  const witness = await connect(plain.port);
  witness.socket.write('x');
  await witness.received(1);
  await sleep(100);
  assert.equal(client.bytes(), 0);
  assert.equal(client.socket.destroyed, false);
  assert.equal(client.socket.readableEnded, false);
  assert.equal(proxy.connections()[0]?.bytes.upstream, 13, 'the proxy read the bytes, then dropped them');
  // As Toxiproxy's Cleanup: the stream lost bytes, so removal ends the connection instead of resuming it.
  proxy.removeToxic('hole');
  assert.equal(await client.finished, 'end');
  assert.equal(client.bytes(), 0);
  assert.equal(await serverSaw[0], 'end', 'the server sees the close too');
  witness.socket.destroy();
});

test('removing a timeout closes only the connections it acted on: not those the toxicity draw left out', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address, { seed: 42 });
  proxy.addToxic({
    name: 'flaky-hole',
    type: 'timeout',
    stream: 'upstream',
    toxicity: 0.5,
    attributes: { timeout: 0 },
  });
  const clients = [];
  for (let i = 0; i < 12; i++) clients.push(await connect(port));
  await until(() => proxy.connections().length === clients.length);
  // Each either echoes (left out by the draw) or, black-holed, is closed by the removal: never both.
  const outcomes = clients.map((c) => {
    c.socket.write('x');
    return Promise.race([c.received(1).then(() => 'echo'), c.finished]);
  });
  proxy.removeToxic('flaky-hole');
  const seen = await Promise.all(outcomes);
  assert.ok(seen.includes('echo') && seen.includes('end'), `outcomes: ${seen}`);
  for (const [i, client] of clients.entries()) {
    if (seen[i] === 'end') {
      assert.equal(client.bytes(), 0, 'a black-holed connection got nothing');
      continue;
    }
    client.socket.write('after');
    await client.received(6);
    assert.equal(client.text(), 'xafter');
    assert.equal(client.socket.readableEnded, false);
    client.socket.destroy();
  }
});

test('removing a timeout whose target never switched on leaves the connection open and carrying data', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  proxy.addToxic({
    name: 'late-hole',
    type: 'timeout',
    stream: 'upstream',
    attributes: { timeout: 0 },
    target: { afterBytes: 100 },
  });
  const client = await connect(port);
  client.socket.write('short');
  await client.received(5);
  proxy.removeToxic('late-hole');
  client.socket.write(' and more');
  await client.received(14);
  assert.equal(client.text(), 'short and more');
  assert.equal(client.socket.readableEnded, false);
  client.socket.destroy();
});

test('updating a timeout keeps the connection open; an update that takes it off the connection lets traffic flow', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  const client = await connect(port);
  proxy.addToxic({ name: 'hole', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
  client.socket.write('lost-1');
  await until(() => proxy.connections()[0]?.bytes.upstream === 6);
  // Toxiproxy restarts an updated toxic in place, without its Cleanup: still a black hole, still open.
  proxy.updateToxic('hole', { attributes: { timeout: 0 } });
  client.socket.write('lost-2');
  await until(() => proxy.connections()[0]?.bytes.upstream === 12);
  // Toxicity 0: the toxic stays on the proxy but no longer acts on this connection.
  proxy.updateToxic('hole', { toxicity: 0 });
  client.socket.write('back');
  await client.received(4);
  assert.equal(client.text(), 'back', 'what the black hole dropped stays lost');
  // The toxic no longer acts here, so removing it does not close the connection.
  proxy.removeToxic('hole');
  client.socket.write('!');
  await client.received(5);
  assert.equal(client.text(), 'back!');
  assert.equal(client.socket.readableEnded, false);
  client.socket.destroy();
});

test('timeout > 0: nothing gets through, then the connection is closed with a FIN', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  proxy.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 100 } });
  const client = await connect(port);
  client.socket.write('hello');
  assert.equal(await client.finished, 'end');
  assert.equal(client.bytes(), 0);
});

test('reset_peer: the client sees ECONNRESET, and so does the server', { timeout }, async (t) => {
  const serverSaw: Promise<string>[] = [];
  const server = await tcpServer(t, (socket) => {
    serverSaw.push(observe(socket).finished);
  });
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } });
  const client = await connect(port);
  client.socket.write('hello');
  assert.equal(await client.finished, 'ECONNRESET');
  await until(() => serverSaw.length === 1);
  assert.equal(await serverSaw[0], 'ECONNRESET');
});

test('reset_peer with a timeout: data first, then the RST', { timeout }, async (t) => {
  const server = await tcpServer(t, (socket) => socket.write('welcome'));
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 50 } });
  const client = await connect(port);
  await client.received(7);
  client.socket.write('trigger');
  assert.equal(await client.finished, 'ECONNRESET');
  assert.equal(client.text(), 'welcome');
});

test('slicer: one write arrives as many small reads, intact', { timeout }, async (t) => {
  const payload = randomBytes(4000);
  const server = await tcpServer(t, (socket) => socket.end(payload));
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ type: 'slicer', attributes: { average_size: 100, size_variation: 50, delay: 2000 } });
  const client = await connect(port);
  await client.finished;
  assert.ok(Buffer.concat(client.chunks).equals(payload));
  assert.ok(client.chunks.length > 5, `${client.chunks.length} reads`);
  assert.ok(Math.max(...client.chunks.map((c) => c.length)) < 4000);
});

test('slicer and bandwidth hold a chunk whole and cut pieces as they leave: 1-byte pieces cost no Buffer each', () => {
  const payload = randomBytes(1 << 16);
  for (const [type, attributes] of [
    ['slicer', { average_size: 1, size_variation: 0, delay: 1_000_000 }],
    ['bandwidth', { rate: 0.001 }],
  ] as const) {
    const { written, sink, context } = stageHarness();
    const stage = toxicDefinitions[type].create(attributes as never, context, sink);
    stage.write(payload);
    stage.write(payload.subarray(0, 10));
    stage.end();
    // Removed while holding nearly all of it: what it held comes back as the chunks it was given.
    const { held, ended } = stage.detach();
    assert.ok(held.length <= 2, `${type}: ${held.length} buffers held, not one per piece`);
    assert.equal(ended, true);
    assert.deepEqual(
      Buffer.concat([...written, ...held]),
      Buffer.concat([payload, payload.subarray(0, 10)]),
      `${type}: every byte, in order`,
    );
  }
});

test('limit_data: exactly N bytes, then a FIN; with 0, the first data closes it', { timeout }, async (t) => {
  const server = await tcpServer(t, (socket) => socket.write(Buffer.alloc(1000, 7)));
  for (const bytes of [100, 0]) {
    const { proxy, port } = await proxyTo(t, server.address);
    proxy.addToxic({ type: 'limit_data', attributes: { bytes } });
    const client = await connect(port);
    assert.equal(await client.finished, 'end', `bytes: ${bytes}`);
    assert.equal(client.bytes(), bytes);
  }
});

test('half_close: the client gets a FIN yet can still send to the server', { timeout }, async (t) => {
  let serverGot = '';
  const server = await tcpServer(
    t,
    (socket) => socket.on('data', (d: Buffer) => (serverGot += d.toString())),
    {
      allowHalfOpen: true,
    },
  );
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ type: 'half_close', stream: 'downstream' });
  const client = await connect(port, { allowHalfOpen: true });
  assert.equal(await client.finished, 'end');
  client.socket.write('still here');
  await until(() => serverGot === 'still here');
  assert.equal(client.socket.destroyed, false);
  client.socket.destroy();
});

test('stall_reads: the client’s writes back up while stalled and all arrive once it is removed', {
  timeout,
}, async (t) => {
  let serverGot = 0;
  const server = await tcpServer(t, (socket) => socket.on('data', (d: Buffer) => (serverGot += d.length)));
  const { proxy, port } = await proxyTo(t, server.address);
  proxy.addToxic({ name: 'stall', type: 'stall_reads', stream: 'upstream' });
  const client = await connect(port);
  const size = 32 << 20; // far beyond what loopback socket buffers hold
  const accepted = client.socket.write(Buffer.alloc(size));
  await sleep(200);
  assert.equal(accepted, false);
  assert.ok(client.socket.writableLength > 0, 'bytes are stuck in the client');
  assert.ok(serverGot < size);
  proxy.removeToxic('stall');
  await until(() => serverGot === size);
  client.socket.destroy();
});

test('lifetime: connections are cut once old enough, FIN by default, RST when asked', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  proxy.addToxic({ name: 'cut', type: 'lifetime', attributes: { lifetime: 100 } });
  const a = await connect(port);
  a.socket.write('x');
  assert.equal(await a.finished, 'end');
  proxy.updateToxic('cut', { attributes: { reset: true } });
  const b = await connect(port);
  assert.equal(await b.finished, 'ECONNRESET');
});

test('closeAll: FIN or RST to every current connection', { timeout }, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  const a = await connect(port);
  const b = await connect(port);
  await until(() => proxy.connections().length === 2);
  proxy.closeAll('fin');
  assert.deepEqual(await Promise.all([a.finished, b.finished]), ['end', 'end']);
  const c = await connect(port);
  await until(() => proxy.connections().length === 1);
  proxy.closeAll('reset');
  assert.equal(await c.finished, 'ECONNRESET');
});

test('disable: open connections are closed, new ones refused; enable: same port works again', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { proxy, port } = await proxyTo(t, echo.address);
  const a = await connect(port);
  await until(() => proxy.connections().length === 1);
  proxy.disable();
  assert.equal(proxy.enabled, false);
  assert.equal(await a.finished, 'end');
  await assert.rejects(connect(port), { code: 'ECONNREFUSED' });
  await proxy.enable();
  const b = await connect(port);
  b.socket.write('ok');
  await b.received(2);
  b.socket.destroy();
});

test('an upstream that refuses: the client’s connection is closed, the proxy carries on', {
  timeout,
}, async (t) => {
  const gone = await echoServer(t);
  await gone.close();
  const { port } = await proxyTo(t, gone.address);
  const client = await connect(port);
  await client.closed;
  assert.equal(client.bytes(), 0);
});

test('no toxic: an RST from the client reaches the server as an RST, a FIN as a FIN', {
  timeout,
}, async (t) => {
  const seen: Promise<string>[] = [];
  const server = await tcpServer(t, (socket) => seen.push(observe(socket).finished));
  const { port } = await proxyTo(t, server.address);
  const resetting = await connect(port);
  await until(() => seen.length === 1);
  resetting.socket.resetAndDestroy();
  assert.equal(await seen[0], 'ECONNRESET');
  const closing = await connect(port);
  await until(() => seen.length === 2);
  closing.socket.end();
  assert.equal(await seen[1], 'end');
});
