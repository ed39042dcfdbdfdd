// Issue 11, bug 1: lifeline's own connection deaths are connection losses to every classifier. The README's
// LiveSocket + Pool + execute example, against a real loopback server that closes a pooled connection: a
// request that was never written is retried on a new connection; one that was written is outcome-unknown.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, test } from 'node:test';
import {
  type Attempt,
  type Classifier,
  ConnectFailedError,
  ConnectionResetError,
  classifyHttp,
  classifyMysql,
  classifyNetwork,
  classifyPostgres,
  classifyRedis,
  execute,
  KeepaliveTimeoutError,
  LiveSocket,
  OutcomeUnknownError,
  PeerClosedError,
  Pool,
  ReadTimeoutError,
  SocketClosedError,
  UnexpectedDataError,
  UserTimeoutError,
  WriteStallError,
} from '../../src/index.js';
import { deathOf, startServer, type TestServer } from '../socket/support.js';

/** Answers every "ping" line with "pong"; a connection in `hangUpOnRequest` is closed (FIN) instead. */
function pingServer(hangUpOnRequest: Set<number>): Promise<TestServer> {
  let index = 0;
  return startServer((socket: net.Socket) => {
    const mine = index++;
    socket.on('data', () => {
      if (hangUpOnRequest.has(mine)) socket.end();
      else socket.write('pong\n');
    });
    socket.once('end', () => socket.end());
  });
}

/** The README's pool of LiveSockets (validateAfterIdleMs raised so the handout never waits a turn). */
function readmePool(port: number): Pool<LiveSocket> {
  return new Pool<LiveSocket>({
    factory: {
      async create(signal) {
        const live = LiveSocket.connect({ host: '127.0.0.1', port });
        signal.addEventListener('abort', () => live.destroy(), { once: true });
        await live.ready();
        return live;
      },
      destroy: (live) => live.destroy(),
      alive: (live) => live.usable,
      onDeath: (live, cb) => void live.onClose((death) => cb(death.error)),
    },
    max: 1,
    validateAfterIdleMs: 60_000,
  });
}

/** One request/reply on `live`, written only on a usable connection (a known-dead one fails unsent). */
async function ping(live: LiveSocket, attempt: Attempt): Promise<string> {
  if (live.death !== undefined) throw live.death.error;
  attempt.markSent();
  live.expectReply();
  const reply = new Promise<string>((resolve, reject) => {
    live.socket.once('data', (chunk) => resolve(String(chunk).trim()));
    live.onClose((death) => reject(death.error));
  });
  live.socket.write('ping\n');
  const text = await reply;
  live.replyReceived();
  return text;
}

async function warm(pool: Pool<LiveSocket>): Promise<LiveSocket> {
  const first = await pool.acquire();
  pool.release(first);
  return first;
}

describe('a LiveSocket death under execute()', () => {
  for (const how of ['FIN', 'RST'] as const) {
    test(`the server closes an idle pooled connection (${how}): the unsent request is retried and succeeds`, async () => {
      const server = await pingServer(new Set());
      const pool = readmePool(server.port);
      try {
        const first = await warm(pool);
        const accepted = await server.nextConnection();
        if (how === 'FIN') accepted.end();
        else accepted.resetAndDestroy();
        const seen: LiveSocket[] = [];
        const reply = await execute(async (attempt) => {
          const live = await pool.acquire();
          seen.push(live);
          try {
            // The close lands while the operation prepares its request, before a byte is written.
            if (live === first) await deathOf(live);
            return await ping(live, attempt);
          } finally {
            pool.release(live);
          }
        });
        assert.equal(reply, 'pong');
        assert.equal(seen.length, 2);
        assert.equal(seen[0], first);
        assert.notEqual(seen[1], first);
        assert.equal(
          first.death?.error instanceof (how === 'FIN' ? PeerClosedError : ConnectionResetError),
          true,
        );
      } finally {
        await pool.drain({ timeoutMs: 5000 });
        await server.close();
      }
    });
  }

  test('the server closes the connection after the request was written: outcome unknown, retried only when idempotent', async () => {
    const server = await pingServer(new Set([0, 1]));
    const pool = readmePool(server.port);
    const op = async (attempt: Attempt) => {
      const live = await pool.acquire();
      try {
        return await ping(live, attempt);
      } finally {
        pool.release(live);
      }
    };
    try {
      await assert.rejects(execute(op), (error: unknown) => {
        assert.ok(error instanceof OutcomeUnknownError);
        assert.ok(error.cause instanceof PeerClosedError);
        return true;
      });
      // Connection 1 hangs up too; connection 2 answers.
      assert.equal(await execute(op, { idempotent: true }), 'pong');
      assert.equal(server.accepted.length, 3);
    } finally {
      await pool.drain({ timeoutMs: 5000 });
      await server.close();
    }
  });
});

describe('every classifier reads the connection-lost mark', () => {
  const classifiers: Record<string, Classifier> = {
    classifyNetwork,
    classifyPostgres,
    classifyMysql,
    classifyRedis,
    classifyHttp,
  };
  const broken = [
    new PeerClosedError('127.0.0.1:1'),
    new ConnectionResetError('127.0.0.1:1'),
    new WriteStallError('127.0.0.1:1', 100, 10),
    new ReadTimeoutError('127.0.0.1:1', 100),
    new KeepaliveTimeoutError('127.0.0.1:1', 'idle 1 s'),
    new UserTimeoutError('127.0.0.1:1', 'TCP_USER_TIMEOUT 1 s'),
    new UnexpectedDataError('127.0.0.1:1', 3),
    new SocketClosedError('127.0.0.1:1', 'closed by its owner'),
  ];
  for (const [name, classify] of Object.entries(classifiers)) {
    test(`${name}: a death is not-sent or outcome-unknown by markSent; a failed connect is not-sent`, () => {
      for (const error of broken) {
        assert.equal(classify(error, false).kind, 'not-sent', `${error.name} unsent`);
        assert.equal(classify(error, true).kind, 'outcome-unknown', `${error.name} sent`);
      }
      const refused = new ConnectFailedError('127.0.0.1:1', 'connection refused');
      assert.equal(classify(refused, true).kind, 'not-sent');
      assert.equal(classify(new OutcomeUnknownError(1, undefined), false).kind, 'outcome-unknown');
    });
  }
});
