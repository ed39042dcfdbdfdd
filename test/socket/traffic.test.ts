// Deaths lifeline decides itself from the traffic: a peer that stops reading (write stall), a reply that
// never comes (read timeout), and bytes nobody asked for (idle-data policy).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import {
  LiveSocket,
  ReadTimeoutError,
  UnexpectedDataError,
  WriteStallError,
} from '../../src/socket/index.js';
import { deathOf, drain, startServer } from './support.js';

const T = { timeout: 20_000 };

test('a peer that never reads kills the writer with write-stall', T, async () => {
  // The server accepts and never reads: its receive window fills, then our send buffer, then Node's queue.
  const server = await startServer((socket) => socket.pause());
  const live = LiveSocket.connect({
    host: '127.0.0.1',
    port: server.port,
    writeStallMs: 500,
    userTimeoutMs: 0,
  });
  await live.ready();
  live.socket.write(Buffer.alloc(64 * 1024 * 1024));
  const death = await deathOf(live);
  assert.equal(death.cause, 'write-stall');
  assert.ok(death.error instanceof WriteStallError);
  assert.equal(death.error.code, 'LIFELINE_WRITE_STALL');
  assert.ok(death.error.queuedBytes > 0);
  assert.equal(live.state, 'closed');
  await server.close();
});

test('a slow but steady reader is not a write stall', T, async () => {
  // The server reads a little at a time, so progress never stops for writeStallMs.
  const server = await startServer((socket) => {
    socket.pause();
    const timer = setInterval(() => socket.read(256 * 1024), 20);
    socket.once('close', () => clearInterval(timer));
  });
  const live = LiveSocket.connect({
    host: '127.0.0.1',
    port: server.port,
    writeStallMs: 400,
    userTimeoutMs: 0,
  });
  await live.ready();
  const payload = Buffer.alloc(24 * 1024 * 1024);
  await new Promise<void>((resolve, reject) =>
    live.socket.write(payload, (error) => (error ? reject(error) : resolve())),
  );
  assert.equal(live.death, undefined);
  assert.equal(live.usable, true);
  live.destroy();
  await server.close();
});

test('an awaited reply that never comes is read-timeout', T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port, readTimeoutMs: 300 });
  await live.ready();
  live.socket.write('PING\n');
  live.expectReply();
  const death = await deathOf(live);
  assert.equal(death.cause, 'read-timeout');
  assert.ok(death.error instanceof ReadTimeoutError);
  assert.equal(death.error.code, 'LIFELINE_READ_TIMEOUT');
  await server.close();
});

test('a reply that arrives, then replyReceived(), disarms the read deadline', T, async () => {
  const server = await startServer((socket) => {
    drain(socket);
    socket.on('data', () => socket.write('PONG\n'));
  });
  const live = LiveSocket.connect({
    host: '127.0.0.1',
    port: server.port,
    readTimeoutMs: 200,
    idleData: 'reject',
  });
  await live.ready();
  for (let i = 0; i < 3; i++) {
    live.expectReply();
    live.socket.write('PING\n');
    const [reply] = await once(live.socket, 'data');
    assert.equal(String(reply), 'PONG\n');
    live.replyReceived();
  }
  // Longer than the deadline with no reply awaited: still fine.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(live.death, undefined);
  assert.equal(live.usable, true);
  await live.close();
  await server.close();
});

test("idleData 'reject' retires a connection that receives bytes nobody asked for", T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port, idleData: 'reject' });
  await live.ready();
  const received: Buffer[] = [];
  live.socket.on('data', (chunk: Buffer) => received.push(chunk));
  (await server.nextConnection()).write('NOTICE: late reply from an earlier request');
  const death = await deathOf(live);
  assert.equal(death.cause, 'idle-data');
  assert.ok(death.error instanceof UnexpectedDataError);
  assert.equal(death.error.code, 'LIFELINE_UNEXPECTED_DATA');
  assert.deepEqual(received, [], 'the stray bytes never reach the reader');
  await server.close();
});

test("idleData 'allow' (push protocols) keeps the connection and delivers the bytes", T, async () => {
  const server = await startServer();
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port, idleData: 'allow' });
  await live.ready();
  (await server.nextConnection()).write('MESSAGE channel hello');
  const [chunk] = await once(live.socket, 'data');
  assert.equal(String(chunk), 'MESSAGE channel hello');
  assert.equal(live.death, undefined);
  assert.equal(live.usable, true);
  await live.close();
  await server.close();
});
