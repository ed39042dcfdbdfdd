import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaultProxy } from '../../src/faults/index.js';
import {
  type Attempt,
  classifyPostgres,
  DeadlineExceededError,
  execute,
  OutcomeUnknownError,
  type RetryEvent,
} from '../../src/index.js';
import { requireService, services } from '../support/services.js';
import { rejectionOf, retriesInto } from './observe.js';
import { admin, sentQuery, withClient } from './pg-op.js';

// Own tables, unique per process, so parallel runs and other suites never collide.
const suffix = `${process.pid}_${Date.now() % 1e6}`;
const counters = `lifeline_exec_counters_${suffix}`;
const applied = `lifeline_exec_applied_${suffix}`;
const pgAddress = { host: services.postgres.host, port: services.postgres.port };

const increment = `update ${counters} set n = n + 1 where id = $1`;
// Idempotent: the increment happens only with the first insert of the request id, in one statement.
const incrementOnce =
  `with first as (insert into ${applied} (request_id) values ($2) on conflict do nothing returning 1) ` +
  `update ${counters} set n = n + (select count(*) from first) where id = $1`;

let nextId = 0;
async function newCounter(): Promise<number> {
  const id = ++nextId;
  await admin(pgAddress, (c) => c.query(`insert into ${counters} (id, n) values ($1, 0)`, [id]));
  return id;
}
async function counterValue(id: number): Promise<number> {
  const { rows } = await admin(pgAddress, (c) =>
    c.query<{ n: number }>(`select n from ${counters} where id = $1`, [id]),
  );
  return rows[0]?.n ?? Number.NaN;
}

describe('execute() against Postgres through a fault proxy', { timeout: 60_000 }, () => {
  let proxy: FaultProxy;
  let via: { host: string; port: number };
  let available = true;

  before(async () => {
    await admin(pgAddress, async (c) => {
      await c.query(`create table ${counters} (id int primary key, n int not null)`);
      await c.query(`create table ${applied} (request_id text primary key)`);
    }).catch(() => {
      available = false;
    });
    proxy = new FaultProxy({ listen: '127.0.0.1:0', upstream: `${pgAddress.host}:${pgAddress.port}` });
    via = await proxy.start();
  });

  after(async () => {
    await proxy.stop();
    if (available) {
      await admin(pgAddress, async (c) => {
        await c.query(`drop table if exists ${counters}`);
        await c.query(`drop table if exists ${applied}`);
      });
    }
  });

  // On the first attempt: once connected, arm an RST for the server's next reply on this connection, so
  // the statement reaches the server (and is applied) and its reply never reaches the client.
  function resetReplyOfFirstAttempt(attempt: Attempt): void {
    if (attempt.number !== 1) return;
    const connection = proxy.connections().at(-1);
    assert.ok(connection, 'the attempt has a connection through the proxy');
    proxy.addToxic({
      name: `reset-reply-${connection.id}`,
      type: 'reset_peer',
      stream: 'downstream',
      attributes: { timeout: 0 },
      target: { connection: connection.id, afterBytes: connection.bytes.downstream },
    });
  }

  test('a write whose reply is lost is not retried: OutcomeUnknownError, applied once', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const id = await newCounter();
    let attempts = 0;
    const error = await rejectionOf(
      execute(
        (attempt) =>
          withClient(attempt, via, async (client) => {
            attempts++;
            resetReplyOfFirstAttempt(attempt);
            return sentQuery(client, attempt, increment, [id]);
          }),
        { classify: classifyPostgres, retry: { maxAttempts: 5, baseDelayMs: 1 } },
      ),
      'the lost reply must not look like success',
    );
    assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
    assert.equal(error.code, 'LIFELINE_OUTCOME_UNKNOWN');
    assert.match(error.message, /may or may not have been applied/);
    assert.ok(error.cause, 'the driver error is chained');
    assert.equal(attempts, 1);
    // The server did apply it — exactly once.
    assert.equal(await counterValue(id), 1);
  });

  test('the same write made idempotent (upsert keyed by request id) is retried and applied once', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const id = await newCounter();
    const requestId = `req-${id}`;
    const retries: RetryEvent[] = [];
    const result = await execute(
      (attempt) =>
        withClient(attempt, via, async (client) => {
          resetReplyOfFirstAttempt(attempt);
          const { rowCount } = await sentQuery(client, attempt, incrementOnce, [id, requestId]);
          return { rowCount, attempt: attempt.number };
        }),
      {
        classify: classifyPostgres,
        idempotent: true,
        retry: { maxAttempts: 3, baseDelayMs: 1 },
        events: retriesInto(retries),
      },
    );
    assert.equal(result.attempt, 2);
    assert.deepEqual(
      retries.map((e) => e.classification.kind),
      ['outcome-unknown'],
    );
    assert.equal(await counterValue(id), 1);
  });

  test('a connection reset before any byte of the statement is retried transparently', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const id = await newCounter();
    const retries: RetryEvent[] = [];
    let armed = false;
    const result = await execute(
      async (attempt) => {
        // The next connection is reset as soon as the client speaks: the statement is never written.
        if (!armed) {
          armed = true;
          proxy.addToxic({
            name: 'reset-on-connect',
            type: 'reset_peer',
            stream: 'upstream',
            attributes: { timeout: 0 },
            target: { connection: proxy.stats().connectionsTotal + 1 },
          });
        }
        return withClient(attempt, via, async (client) => {
          await sentQuery(client, attempt, increment, [id]);
          return attempt.number;
        });
      },
      {
        classify: classifyPostgres,
        retry: { maxAttempts: 3, baseDelayMs: 1 },
        events: retriesInto(retries),
      },
    );
    proxy.removeToxic('reset-on-connect');
    assert.equal(result, 2, 'succeeded on the second attempt, without idempotent: true');
    assert.deepEqual(
      retries.map((e) => e.classification.kind),
      ['not-sent'],
    );
    assert.equal(await counterValue(id), 1);
  });

  test('an operation against a black-holed server ends by its deadline', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    proxy.addToxic({ name: 'black-hole', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
    let seen: AbortSignal | undefined;
    try {
      const error = await rejectionOf(
        execute(
          (attempt) => {
            seen = attempt.signal;
            return withClient(attempt, via, (client) => sentQuery(client, attempt, 'select 1'));
          },
          { classify: classifyPostgres, deadlineMs: 300, idempotent: true },
        ),
        'a black hole cannot answer',
      );
      assert.ok(error instanceof DeadlineExceededError, `got ${String(error)}`);
      assert.equal(error.code, 'LIFELINE_DEADLINE_EXCEEDED');
      assert.equal(seen?.aborted, true, "the attempt's signal was aborted");
      assert.equal(seen?.reason, error);
    } finally {
      proxy.removeToxic('black-hole');
    }
  });
});
