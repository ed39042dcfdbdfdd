// LiveSocket.watchReplies: "reply overdue" is reported while a reply is awaited and silent, never kills the
// connection, and is not reported for replies that arrive or for a connection with no request out.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import { after, test } from 'node:test';
import { LiveSocket, type ReplyOverdue } from '../../src/socket/index.js';
import { drain, startServer } from './support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a silent awaited reply is reported overdue, again after the delay the watcher asks for, and the socket stays open', async (t) => {
  const server = await startServer(drain);
  after(() => server.close());
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  t.after(() => live.destroy());
  await live.ready();
  const calls: ReplyOverdue[] = [];
  live.watchReplies(80, (overdue) => {
    calls.push(overdue);
    return calls.length < 2 ? 80 : undefined;
  });
  live.expectReply();
  live.socket.write('request');
  while (calls.length < 2) await sleep(20);
  await sleep(400);
  assert.equal(calls.length, 2, 'not called again once the watcher returned undefined');
  assert.ok(calls[0] !== undefined && calls[0].silentMs >= 80 && calls[0].waitingMs >= calls[0].silentMs);
  assert.equal(calls[0].calls, 0);
  assert.equal(calls[1]?.calls, 1);
  assert.equal(live.state, 'open');
  assert.equal(live.death, undefined);
});

test('replies that arrive, and bytes that keep arriving, are never overdue; no request out, no report', async (t) => {
  let peer: net.Socket | undefined;
  const server = await startServer((socket) => {
    peer = socket;
    socket.resume();
  });
  after(() => server.close());
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  t.after(() => live.destroy());
  await live.ready();
  while (peer === undefined) await sleep(5);
  const calls: ReplyOverdue[] = [];
  live.watchReplies(100, (overdue) => {
    calls.push(overdue);
    return undefined;
  });
  live.socket.resume();
  // A reply streaming in slowly: a byte every 40 ms for 600 ms.
  live.expectReply();
  for (let i = 0; i < 15; i++) {
    peer.write('x');
    await sleep(40);
  }
  live.replyReceived();
  // Idle, no request out, for several overdue periods.
  await sleep(400);
  // Quick request/reply pairs.
  for (let i = 0; i < 10; i++) {
    live.expectReply();
    peer.write('y');
    await once(live.socket, 'data');
    live.replyReceived();
  }
  await sleep(300);
  assert.deepEqual(calls, []);
});

test('watchReplies checks its arguments', async (t) => {
  const server = await startServer(drain);
  after(() => server.close());
  const live = LiveSocket.connect({ host: '127.0.0.1', port: server.port });
  t.after(() => live.destroy());
  await live.ready();
  assert.throws(() => live.watchReplies(-1, () => undefined), { code: 'LIFELINE_INVALID_OPTION' });
  assert.throws(() => live.watchReplies(100, 'x' as never), { code: 'LIFELINE_INVALID_OPTION' });
});
