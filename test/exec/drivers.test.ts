import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { type Connection, type ConnectionOptions, createConnection } from 'mysql2/promise';
import { Agent, errors, interceptors, request } from 'undici';
import {
  type Attempt,
  type Classification,
  classifyHttp,
  classifyMysql,
  classifyRedis,
  type ExecuteOptions,
  execute,
  OutcomeUnknownError,
  type RetryEvent,
} from '../../src/index.js';
import { requireService, services } from '../support/services.js';
import { promptly, rejectionOf, retriesInto } from './observe.js';

// The classifiers against the errors the real drivers raise, not hand-made look-alikes: each test makes the
// real server fail the real way and checks both the classification and what execute() does with it.

const suffix = `${process.pid}_${Date.now() % 1e6}`;

function onlyRetry(events: RetryEvent[]): RetryEvent {
  assert.equal(events.length, 1, 'exactly one retry');
  return events[0]!;
}

/** A driver error's `code` or `errno`. */
function field(error: unknown, name: 'code' | 'errno'): unknown {
  return (error as Record<string, unknown>)[name];
}

describe('classifyMysql and execute() against real MariaDB errors (mysql2)', { timeout: 60_000 }, () => {
  const counters = `lifeline_drivers_counters_${suffix}`;
  const config: ConnectionOptions = {
    host: services.mysql.host,
    port: services.mysql.port,
    user: services.mysql.user,
    database: services.mysql.database,
  };
  const opened: Connection[] = [];
  let admin: Connection | undefined;
  let nextId = 0;

  async function connect(options: ConnectionOptions = {}): Promise<Connection> {
    const connection = await createConnection({ ...config, ...options });
    opened.push(connection);
    // A test that goes wrong fails in seconds instead of holding its locks for the default 50 s.
    await connection.query('SET SESSION innodb_lock_wait_timeout = 10');
    return connection;
  }

  async function newCounters(count: number): Promise<number[]> {
    const ids = Array.from({ length: count }, () => ++nextId);
    await admin!.query(`insert into ${counters} (id, n) values ${ids.map(() => '(?, 0)').join(', ')}`, ids);
    return ids;
  }

  async function counterValue(id: number): Promise<number> {
    const [rows] = await admin!.query(`select n from ${counters} where id = ?`, [id]);
    return (rows as { n: number }[])[0]?.n ?? Number.NaN;
  }

  before(async () => {
    try {
      admin = await createConnection(config);
      await admin.query(`create table ${counters} (id int primary key, n int not null) engine = InnoDB`);
    } catch {
      admin = undefined; // requireService reports it in each test
    }
  });

  // Destroying a connection rolls back whatever a failed test left open.
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.destroy();
  });

  after(async () => {
    await admin?.query(`drop table if exists ${counters}`);
    admin?.destroy();
  });

  test('a real deadlock (1213) is transient: execute() reruns the victim transaction and it commits', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const [shared1, shared2, ...ballast] = (await newCounters(12)) as [number, number, ...number[]];
    const holder = await connect();
    const victim = await connect();
    // The holder changes more rows, so InnoDB picks the lighter victim transaction to roll back. One row per
    // statement, by primary key: only those rows are locked.
    await holder.beginTransaction();
    for (const id of [shared1, ...ballast]) {
      await holder.query(`update ${counters} set n = n + 1 where id = ?`, [id]);
    }

    let holderDone: Promise<void> | undefined;
    const retries: RetryEvent[] = [];
    let attempts = 0;
    await execute(
      async (attempt) => {
        attempts++;
        await victim.beginTransaction();
        try {
          attempt.markSent();
          await victim.query(`update ${counters} set n = n + 1 where id = ?`, [shared2]);
          // Close the cycle: the holder now waits for shared2 while the victim waits for shared1.
          if (attempt.number === 1) {
            holderDone = holder
              .query(`update ${counters} set n = n + 1 where id = ?`, [shared2])
              .then(() => holder.commit());
          }
          await victim.query(`update ${counters} set n = n + 1 where id = ?`, [shared1]);
          await victim.commit();
        } catch (error) {
          await victim.rollback();
          throw error;
        }
      },
      {
        classify: classifyMysql,
        deadlineMs: 30_000,
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
        events: retriesInto(retries),
      },
    );
    await holderDone;

    assert.equal(attempts, 2, 'the deadlock victim ran twice: rolled back once, committed once');
    const retry = onlyRetry(retries);
    assert.equal(field(retry.error, 'errno'), 1213);
    assert.equal(field(retry.error, 'code'), 'ER_LOCK_DEADLOCK');
    assert.deepEqual(retry.classification, { kind: 'rejected', transient: true });
    assert.equal(await counterValue(shared1), 2, 'holder and victim each applied once');
    assert.equal(await counterValue(shared2), 2, 'holder and victim each applied once');
  });

  test('a lock wait timeout (1205) is transient: execute() retries once the lock is released', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const [id] = (await newCounters(1)) as [number];
    const holder = await connect();
    const waiter = await connect();
    await waiter.query('SET SESSION innodb_lock_wait_timeout = 1');
    await holder.beginTransaction();
    await holder.query(`update ${counters} set n = n + 1 where id = ?`, [id]);

    const retries: RetryEvent[] = [];
    let attempts = 0;
    await execute(
      async (attempt) => {
        attempts++;
        attempt.markSent();
        await waiter.query(`update ${counters} set n = n + 10 where id = ?`, [id]);
      },
      {
        classify: classifyMysql,
        deadlineMs: 30_000,
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
        events: {
          onRetry: (event) => {
            retries.push(event);
            void holder.commit();
          },
        },
      },
    );

    assert.equal(attempts, 2);
    const retry = onlyRetry(retries);
    assert.equal(field(retry.error, 'errno'), 1205);
    assert.equal(field(retry.error, 'code'), 'ER_LOCK_WAIT_TIMEOUT');
    assert.deepEqual(retry.classification, { kind: 'rejected', transient: true });
    assert.equal(
      await counterValue(id),
      11,
      'the timed-out statement was rolled back, the retry applied once',
    );
  });

  test('a duplicate key (1062) is a final answer: not retried', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const [id] = (await newCounters(1)) as [number];
    const connection = await connect();
    let attempts = 0;
    const error = await rejectionOf(
      execute(
        async (attempt) => {
          attempts++;
          attempt.markSent();
          await connection.query(`insert into ${counters} (id, n) values (?, 0)`, [id]);
        },
        { classify: classifyMysql, retry: promptly(5) },
      ),
    );
    assert.equal(attempts, 1);
    assert.equal(field(error, 'errno'), 1062, "the driver's own error, unchanged");
    assert.equal(field(error, 'code'), 'ER_DUP_ENTRY');
    assert.deepEqual(classifyMysql(error, true), { kind: 'rejected', transient: false });
  });

  test('an idle connection killed from another session: the loss is not-sent or outcome-unknown by markSent', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const idle = await connect();
    const lost = once(idle, 'error');
    await admin!.query(`KILL ${idle.threadId}`);
    const [error] = (await lost) as [unknown];
    assert.equal(field(error, 'code'), 'PROTOCOL_CONNECTION_LOST');
    assert.deepEqual(classifyMysql(error, false), { kind: 'not-sent' });
    assert.deepEqual(classifyMysql(error, true), { kind: 'outcome-unknown' });
  });

  test('a non-idempotent write whose connection is killed mid-statement: OutcomeUnknownError, applied once', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const [id] = (await newCounters(1)) as [number];
    let attempts = 0;
    let threadId: number | undefined;
    // Two statements in one request: the increment commits, then the sleep holds the reply, so the
    // connection dies after the write was applied and before the client heard of it.
    const pending = execute(
      async (attempt) => {
        attempts++;
        const connection = await connect({ multipleStatements: true });
        threadId = connection.threadId ?? undefined;
        attempt.markSent();
        return connection.query(`update ${counters} set n = n + 1 where id = ?; select sleep(5)`, [id]);
      },
      {
        classify: classifyMysql,
        deadlineMs: 30_000,
        retry: promptly(3),
      },
    );
    const settled = rejectionOf(pending);

    // Bounded wait for the increment to commit (the statement is then in its sleep), then kill it.
    for (let i = 0; i < 500 && (await counterValue(id)) === 0; i++) await sleep(10);
    assert.equal(await counterValue(id), 1, 'the write reached the server');
    assert.ok(threadId !== undefined);
    await admin!.query(`KILL ${threadId}`);

    const error = await settled;
    assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
    assert.equal(field(error.cause, 'code'), 'PROTOCOL_CONNECTION_LOST');
    assert.equal(attempts, 1);
    assert.equal(await counterValue(id), 1, 'applied once, never re-run');
  });

  test('a query on a connection killed while idle is not-sent: a non-idempotent write is retried', async (t) => {
    if (!(await requireService(t, 'mysql'))) return;
    const [id] = (await newCounters(1)) as [number];
    const idle = await connect();
    const lost = once(idle, 'error');
    await admin!.query(`KILL ${idle.threadId}`);
    await lost;
    const retries: RetryEvent[] = [];
    let attempts = 0;
    await execute(
      async (attempt) => {
        attempts++;
        const connection = attempt.number === 1 ? idle : await connect();
        attempt.markSent();
        return connection.query(`update ${counters} set n = n + 1 where id = ?`, [id]);
      },
      {
        classify: classifyMysql,
        retry: promptly(3),
        events: retriesInto(retries),
      },
    );
    assert.equal(attempts, 2);
    assert.deepEqual(retries[0]?.classification, { kind: 'not-sent' });
    assert.equal(await counterValue(id), 1);
  });
});

describe('classifyRedis and execute() against real Redis errors (ioredis)', { timeout: 60_000 }, () => {
  const prefix = `lifeline:drivers:${suffix}`;
  // So that the driver neither hides nor repeats a failure the test is about: maxRetriesPerRequest 0 fails
  // pending commands at once instead of carrying them across reconnects, enableOfflineQueue false rejects a
  // command while disconnected instead of queueing it, and autoResendUnfulfilledCommands false never sends
  // again a command whose reply was lost (ioredis would otherwise re-run a non-idempotent one silently).
  const options: RedisOptions = {
    host: services.redis.host,
    port: services.redis.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  };
  const clients: Redis[] = [];

  async function connect(): Promise<Redis> {
    const client = new Redis(options);
    clients.push(client);
    client.on('error', () => {}); // failures are asserted where they are awaited
    await client.connect();
    return client;
  }

  after(async () => {
    const admin = clients.find((client) => client.status === 'ready');
    await admin?.del(`${prefix}:after-busy`, `${prefix}:a-string`);
    for (const client of clients) client.disconnect();
  });

  test('BUSY while a script runs is transient: execute() backs off and succeeds once it ends', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const admin = await connect();
    const scripted = await connect();
    const client = await connect();
    const [, previous] = (await admin.config('GET', 'busy-reply-threshold')) as [string, string];
    let script: Promise<unknown> | undefined;
    t.after(async () => {
      // Redis answers BUSY to CONFIG SET as well while the script runs, so let it end first (≤ 1 s).
      await script?.catch(() => {});
      await admin.config('SET', 'busy-reply-threshold', previous);
    });
    await admin.config('SET', 'busy-reply-threshold', '100');

    // A busy loop of about one second, timed by the server's clock.
    script = scripted.eval(
      `local t = redis.call('TIME')
       local start = t[1] * 1000000 + t[2]
       while true do
         local now = redis.call('TIME')
         if now[1] * 1000000 + now[2] - start > 1000000 then return 1 end
       end`,
      0,
    );
    // Until the script is running, so that the first attempt below meets it (bounded).
    let busy = false;
    for (let i = 0; i < 200 && !busy; i++) {
      busy = await client.ping().then(
        () => false,
        (error: Error) => error.message.startsWith('BUSY'),
      );
      if (!busy) await sleep(5);
    }
    assert.ok(busy, 'the script made Redis answer BUSY');

    const key = `${prefix}:after-busy`;
    const retries: RetryEvent[] = [];
    let attempts = 0;
    const reply = await execute(
      async (attempt) => {
        attempts++;
        attempt.markSent();
        return client.set(key, 'written');
      },
      {
        classify: classifyRedis,
        deadlineMs: 20_000,
        retry: { maxAttempts: 100, baseDelayMs: 20, maxDelayMs: 100 },
        events: retriesInto(retries),
      },
    );

    assert.equal(reply, 'OK');
    assert.equal(await script, 1, 'the script ran to its end');
    assert.ok(attempts >= 2, `the first attempt met BUSY (attempts: ${attempts})`);
    assert.equal(retries.length, attempts - 1);
    for (const retry of retries) {
      assert.equal((retry.error as Error).name, 'ReplyError');
      assert.match((retry.error as Error).message, /^BUSY /);
      assert.deepEqual(retry.classification, { kind: 'rejected', transient: true });
    }
    assert.equal(await client.get(key), 'written');
  });

  test('WRONGTYPE is a final answer: not retried', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const client = await connect();
    const key = `${prefix}:a-string`;
    await client.set(key, 'not a list');
    let attempts = 0;
    const error = await rejectionOf(
      execute(
        async (attempt) => {
          attempts++;
          attempt.markSent();
          return client.lpush(key, 'x');
        },
        { classify: classifyRedis, retry: promptly(5) },
      ),
    );
    assert.equal(attempts, 1);
    assert.equal((error as Error).name, 'ReplyError');
    assert.match((error as Error).message, /^WRONGTYPE /);
    assert.deepEqual(classifyRedis(error, true), { kind: 'rejected', transient: false });
    assert.equal(await client.get(key), 'not a list');
  });

  test('CLIENT KILL while idle: the next command is not-sent and retried on another connection', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const admin = await connect();
    const killed = await connect();
    const closed = once(killed, 'close');
    await admin.client('KILL', 'ID', String(await killed.client('ID')));
    await closed;
    const key = `${prefix}:counter`;
    const retries: RetryEvent[] = [];
    let attempts = 0;
    await execute(
      async (attempt) => {
        attempts++;
        attempt.markSent();
        return (attempt.number === 1 ? killed : admin).incr(key);
      },
      {
        classify: classifyRedis,
        retry: promptly(3),
        events: retriesInto(retries),
      },
    );
    assert.equal(attempts, 2);
    assert.deepEqual(retries[0]?.classification, { kind: 'not-sent' });
    assert.equal(await admin.get(key), '1');
  });

  test('CLIENT KILL during a blocking pop: OutcomeUnknownError for the non-idempotent pop', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const admin = await connect();
    const client = await connect();
    const clientId = String(await client.client('ID'));
    let attempts = 0;
    const settled = rejectionOf(
      execute(
        async (attempt) => {
          attempts++;
          attempt.markSent();
          return client.blpop(`${prefix}:empty-list`, 5);
        },
        { classify: classifyRedis, retry: promptly(3) },
      ),
    );
    for (let i = 0; i < 500; i++) {
      const list = (await admin.client('LIST')) as string;
      if (list.includes(`id=${clientId} `) && list.includes('cmd=blpop')) break;
      await sleep(10);
    }
    await admin.client('KILL', 'ID', clientId);
    const error = await settled;
    assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
    assert.equal(attempts, 1);
  });
});

describe('classifyHttp and execute() against a real HTTP server (undici)', { timeout: 60_000 }, () => {
  // Requests seen per "METHOD path", counted when the whole request has arrived.
  const seen = new Map<string, number>();
  let server: Server;
  let base: string;
  const agent = new Agent();
  // Turns 4xx/5xx into undici's ResponseError (statusCode, headers): the error classifyHttp reads.
  const dispatcher = agent.compose(interceptors.responseError());

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = `${req.method} ${req.url}`;
        const count = (seen.get(key) ?? 0) + 1;
        seen.set(key, count);
        if (req.url === '/unavailable-once' && count === 1) {
          res.writeHead(503, { 'retry-after': '1' }).end('try later');
        } else if (req.url === '/error') {
          res.writeHead(500).end('broken');
        } else if (req.url === '/drop' || (req.url === '/drop-once' && count === 1)) {
          req.socket.destroy();
        } else {
          res.end('ok');
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  interface Fetched {
    /** What execute() settled with. */
    readonly result: Promise<string>;
    /** Times the operation ran. */
    readonly attempts: number;
    readonly retries: RetryEvent[];
  }

  /** execute() with classifyHttp around one undici request per attempt, to `url(attempt)`. */
  function fetchThrough(
    url: (attempt: Attempt) => string,
    options: ExecuteOptions,
    method: 'GET' | 'POST' = 'GET',
  ): Fetched {
    const run = { attempts: 0, retries: [] as RetryEvent[] };
    const result = execute(
      (attempt) => {
        run.attempts++;
        attempt.markSent();
        return request(url(attempt), {
          method,
          body: method === 'POST' ? 'payload' : null,
          dispatcher,
          signal: attempt.signal,
        }).then(({ body }) => body.text());
      },
      { classify: classifyHttp, events: retriesInto(run.retries), ...options },
    );
    return Object.assign(run, { result });
  }

  test('503 with Retry-After: 1 then 200: retried once, after the delay the server asked for', async () => {
    const run = fetchThrough(() => `${base}/unavailable-once`, {
      deadlineMs: 20_000,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
    });
    assert.equal(await run.result, 'ok');
    assert.equal(run.attempts, 2);
    assert.equal(seen.get('GET /unavailable-once'), 2);
    const retry = onlyRetry(run.retries);
    assert.ok(retry.error instanceof errors.ResponseError);
    assert.equal(retry.error.statusCode, 503);
    const expected: Classification = { kind: 'rejected', transient: true, retryAfterMs: 1000 };
    assert.deepEqual(retry.classification, expected);
    // The backoff alone is at most maxDelayMs (100): the wait chosen is the server's.
    assert.equal(retry.delayMs, 1000);
  });

  test('500 is a final answer: not retried', async () => {
    const run = fetchThrough(() => `${base}/error`, { retry: promptly(5) });
    const error = await rejectionOf(run.result);
    assert.equal(run.attempts, 1);
    assert.equal(seen.get('GET /error'), 1);
    assert.ok(error instanceof errors.ResponseError);
    assert.equal(error.statusCode, 500);
  });

  test('socket destroyed after the request arrived: a POST is OutcomeUnknownError, seen once', async () => {
    const run = fetchThrough(() => `${base}/drop`, { retry: promptly(5) }, 'POST');
    const error = await rejectionOf(run.result);
    assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
    assert.ok(error.cause instanceof errors.SocketError);
    assert.equal(field(error.cause, 'code'), 'UND_ERR_SOCKET');
    assert.equal(run.attempts, 1);
    assert.equal(seen.get('POST /drop'), 1, 'the server saw exactly one request');
  });

  test('socket destroyed after the request arrived: an idempotent GET is retried and succeeds', async () => {
    const run = fetchThrough(() => `${base}/drop-once`, { idempotent: true, retry: promptly(3) });
    assert.equal(await run.result, 'ok');
    assert.equal(run.attempts, 2);
    assert.equal(seen.get('GET /drop-once'), 2);
    const retry = onlyRetry(run.retries);
    assert.equal(field(retry.error, 'code'), 'UND_ERR_SOCKET');
    assert.deepEqual(retry.classification, { kind: 'outcome-unknown' });
  });

  test('a refused port is not-sent even after markSent(): a POST is retried', async () => {
    // A port that was just free: bound, then closed, so nothing listens on it.
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const refusedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const run = fetchThrough(
      (attempt) => (attempt.number === 1 ? `http://127.0.0.1:${refusedPort}/created` : `${base}/created`),
      { retry: promptly(3) },
      'POST',
    );
    assert.equal(await run.result, 'ok');
    assert.equal(run.attempts, 2);
    assert.equal(seen.get('POST /created'), 1);
    const retry = onlyRetry(run.retries);
    assert.equal(field(retry.error, 'code'), 'ECONNREFUSED');
    assert.deepEqual(retry.classification, { kind: 'not-sent' });
  });
});
