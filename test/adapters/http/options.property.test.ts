// Property (issue 16): every option lifeline-net/http and lifeline-net/ws add — Agent's and HttpAgent's
// `lifeline`, interceptor()'s, watch()'s and watchServer()'s — given any value, yields a working object (built,
// used for a real request or message, closed) or InvalidOptionError naming the option: never a raw
// TypeError/RangeError, a hang, or a socket left open on the server after the client closed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request, Agent as UndiciAgent } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { Agent, fetch, HttpAgent, interceptor } from '../../../src/adapters/http/index.js';
import { watch, watchServer } from '../../../src/adapters/ws/index.js';
import { LifelineError } from '../../../src/core/errors.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { sleep } from '../../faults/helpers.js';
import { GetterError, hostile, params } from '../../property/support.js';

const HTTP_KEYS = [
  'deadlineMs',
  'retry',
  'budget',
  'breaker',
  'hedge',
  'idleCutMs',
  'learnIdleCut',
  'socket',
  'unknownOption',
];
const NODE_KEYS = ['idleCutMs', 'learnIdleCut', 'socket', 'unknownOption'];
const WS_KEYS = ['heartbeat', 'socket', 'unknownOption'];

/** Values for one option: anything hostile, or an object with one hostile field (a nested policy's options). */
const nested = fc.oneof(
  hostile,
  fc
    .record({
      field: fc.constantFrom(
        'maxAttempts',
        'baseDelayMs',
        'percentCanRetry',
        'consecutiveFailures',
        'delayMs',
        'percentile',
        'keepaliveIdleMs',
        'userTimeoutMs',
        'writeStallMs',
        'idleData',
        'intervalMs',
        'timeoutMs',
        'other',
      ),
      value: hostile,
    })
    .map(({ field, value }) => ({ [field]: value })),
);

/**
 * Construction either succeeds or throws InvalidOptionError naming `path` (or an option under it, or naming
 * it in the message, as a nested policy's own error does); a value's own throwing getter may propagate.
 */
function built<T>(path: string, build: () => T): T | undefined {
  try {
    return build();
  } catch (error) {
    if (error instanceof GetterError) return undefined;
    assert.ok(
      error instanceof InvalidOptionError,
      `${path}: expected InvalidOptionError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
    );
    assert.ok(
      error.option === path ||
        error.option.startsWith(`${path}.`) ||
        error.message.toLowerCase().includes(path.split('.').at(-1)?.toLowerCase() ?? path),
      `InvalidOptionError for ${path} names "${error.option}": ${error.message}`,
    );
    return undefined;
  }
}

/** A request through a working object settles; if it fails, with a typed error, never a raw JS one. */
function typedFailure(error: unknown): void {
  assert.ok(
    !(error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError),
    `raw ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
  );
  assert.ok(
    error instanceof LifelineError ||
      (error instanceof Error && typeof (error as { code?: unknown }).code === 'string'),
    `an untyped failure: ${String(error)}`,
  );
}

async function settles(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    typedFailure(error);
  }
}

/** The WHATWG fetch rejects every network failure as TypeError('fetch failed'): the cause is what counts. */
async function fetchSettles(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    typedFailure(error instanceof TypeError && error.message === 'fetch failed' ? error.cause : error);
  }
}

describe('lifeline-net/http and lifeline-net/ws options take any value', () => {
  let server: http.Server;
  let url = '';
  const open = new Set<net.Socket>();

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      res.end('ok');
    });
    server.on('connection', (socket: net.Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** The client closed: every connection it made is gone from the server (bounded wait, not a time limit). */
  async function noneLeft(what: string): Promise<void> {
    for (let i = 0; i < 200 && open.size > 0; i++) await sleep(10);
    assert.equal(open.size, 0, `${what} left ${open.size} connection(s) open on the server`);
  }

  it('Agent (lifeline options), used by request() and fetch()', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HTTP_KEYS), nested, async (key, value) => {
        const agent = built(`lifeline.${key}`, () => new Agent({ lifeline: { [key]: value } }));
        if (agent === undefined) return;
        try {
          await settles(async () => (await request(url, { dispatcher: agent })).body.text());
          await fetchSettles(async () => (await fetch(url, { dispatcher: agent })).text());
        } finally {
          await agent.close();
        }
        await noneLeft(`Agent with lifeline.${key}`);
      }),
      params(150),
    );
  });

  it('Agent: the lifeline option itself', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        const agent = built('lifeline', () => new Agent({ lifeline: value as never }));
        if (agent === undefined) return;
        try {
          await settles(async () => (await request(url, { dispatcher: agent })).body.text());
        } finally {
          await agent.close();
        }
        await noneLeft('Agent');
      }),
      params(60),
    );
  });

  it('interceptor() on undici’s own Agent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HTTP_KEYS), nested, async (key, value) => {
        const made = built(key, () => interceptor({ [key]: value }));
        if (made === undefined) return;
        const base = new UndiciAgent();
        try {
          const dispatcher = base.compose(made);
          await settles(async () => (await request(url, { dispatcher })).body.text());
        } finally {
          await base.close();
        }
        await noneLeft(`interceptor with ${key}`);
      }),
      params(120),
    );
  });

  it('HttpAgent (lifeline options), used by node:http', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NODE_KEYS), nested, async (key, value) => {
        const agent = built(`lifeline.${key}`, () => new HttpAgent({ lifeline: { [key]: value } }));
        if (agent === undefined) return;
        try {
          await settles(
            () =>
              new Promise<void>((resolve, reject) => {
                http
                  .get(url, { agent }, (response) => {
                    response.resume();
                    response.on('end', resolve);
                  })
                  .on('error', reject);
              }),
          );
        } finally {
          agent.destroy();
        }
        await noneLeft(`HttpAgent with lifeline.${key}`);
      }),
      params(100),
    );
  });

  it('ws watch() on a client and watchServer() on a server', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...WS_KEYS),
        fc.oneof(nested, fc.constant(false)),
        fc.boolean(),
        async (key, value, onServer) => {
          const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
          await once(wss, 'listening');
          const port = (wss.address() as net.AddressInfo).port;
          wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
          const client = new WebSocket(`ws://127.0.0.1:${port}`);
          client.on('error', () => {});
          try {
            const watched = onServer
              ? built(key, () => watchServer(wss, { [key]: value }))
              : built(key, () => watch(client, { [key]: value }));
            await settles(async () => {
              if (client.readyState === WebSocket.CONNECTING) await once(client, 'open');
              const echoed = once(client, 'message');
              client.send('ping');
              await echoed;
            });
            if (watched !== undefined && !onServer)
              assert.notEqual((watched as { state: string }).state, 'closed');
          } finally {
            client.terminate();
            for (const socket of wss.clients) socket.terminate();
            await new Promise<void>((resolve) => wss.close(() => resolve()));
          }
        },
      ),
      params(100),
    );
  });
});
