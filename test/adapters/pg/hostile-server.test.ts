// lifeline-net/pg against a hostile "server" (soak/hostile-pg.ts, a net.Server speaking broken PostgreSQL):
// garbage, truncated messages, wrong and oversized lengths (1 GiB), unexpected message types, a valid reply
// then junk. Every query settles within its bound with a typed error (or a result), pool.end() settles,
// nothing is thrown uncaught, the heap stays bounded. Three inputs hung or crashed the process through
// pg-protocol before lifeline's wire guard (src/adapters/pg/wire-guard.ts): they must now end the connection
// with PgProtocolError. `npm run soak -- --fuzz` runs the random mutations for as long as asked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  authOk,
  hostileServer,
  msg,
  mutated,
  rowDescription,
  runScenario,
  SCENARIOS,
  type Scenario,
} from '../../../soak/hostile-pg.js';
import { PgProtocolError, Pool } from '../../../src/adapters/pg/index.js';

function checkContained(r: Awaited<ReturnType<typeof runScenario>>): void {
  assert.equal(r.hung, 0, `${r.name}: queries past their bound`);
  assert.deepEqual(r.untyped, [], `${r.name}: errors without a code`);
  assert.deepEqual(r.uncaught, [], `${r.name}: thrown uncaught`);
  assert.ok(r.ended, `${r.name}: pool.end() did not settle`);
  assert.equal(
    r.ok + Object.values(r.errors).reduce((s, n) => s + n, 0),
    r.queries,
    `${r.name}: every query settled`,
  );
}

// Four scenarios at a time (each server and pool is its own); an uncaught exception is seen by every scenario
// running then, so a failure names the few that ran together.
describe('lifeline-net/pg against a hostile server', { concurrency: 4 }, () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      checkContained(await runScenario(scenario));
    });
  }

  test('24 seeded random mutations of a valid conversation', async () => {
    const before = process.memoryUsage().heapUsed;
    for (let seed = 1; seed <= 24; seed++) checkContained(await runScenario(mutated(seed), 2));
    // Bounded, not a timing threshold: 4–8 MiB floods per scenario must not accumulate.
    assert.ok(process.memoryUsage().heapUsed - before < 256 * 1048576, 'heap grew past 256 MB');
  });
});

/** The error a single query meets, and its cause chain's classes. */
async function firstError(scenario: Scenario): Promise<{ error: unknown; chain: unknown[] }> {
  const server = await hostileServer(scenario);
  const pool = new Pool({
    host: '127.0.0.1',
    port: server.port,
    user: 'postgres',
    database: 'test',
    max: 1,
    lifeline: { connectTimeoutMs: 1000, connectRetryMs: 0, acquireTimeoutMs: 2000, queryDeadlineMs: 1000 },
  });
  pool.on('error', () => {});
  try {
    // pool.query would retry the read on new connections until its deadline (a DeadlineExceededError with no
    // single cause); a checked-out client's query is not retried, so its error carries the connection's death.
    const run = async () => {
      if (scenario.query === undefined) return pool.query('select 1');
      const client = await pool.connect();
      try {
        return await client.query('select 1');
      } finally {
        client.release(true);
      }
    };
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    const chain: unknown[] = [];
    for (let e: unknown = error; e !== undefined && chain.length < 10; e = (e as { cause?: unknown }).cause)
      chain.push(e);
    return { error, chain };
  } finally {
    await pool.end();
    await server.stop();
  }
}

describe('the wire guard turns what pg-protocol cannot survive into PgProtocolError', () => {
  const cases: Scenario[] = [
    // pg-protocol 1.16 loops forever on this (parseErrorMessage reads '' past the buffer, never '\0').
    {
      name: 'ErrorResponse without terminators',
      startup: (s) => s.write(msg('E', Buffer.from('SFATAL\0Mbroken'))),
    },
    // pg-protocol throws "Unknown authenticationOk message type 99" from the socket's data event.
    { name: 'unknown authentication code', startup: (s) => s.write(msg('R', Buffer.from([0, 0, 0, 99]))) },
    // new Array(-1) in RowDescriptionMessage: RangeError from the data event.
    {
      name: 'negative field count',
      query: (s) => s.write(msg('T', Buffer.from([0xff, 0xff, 0x6e, 0]))),
    },
    // pg-protocol makes an untyped DatabaseError ("received invalid response: 7e") of an unknown type.
    { name: 'unknown message type', query: (s) => s.write(msg('~', Buffer.from('junk'))) },
    // pg's Result.parseRow reads fields[1].name of a one-column description: TypeError, untyped.
    {
      name: 'a data row wider than its row description',
      query: (s) =>
        s.write(
          Buffer.concat([
            rowDescription(),
            msg('D', Buffer.from([0, 2, 0, 0, 0, 1, 0x31, 0, 0, 0, 1, 0x32])),
          ]),
        ),
    },
    {
      name: 'length below the header',
      startup: (s) => s.write(Buffer.concat([authOk().subarray(0, 1), Buffer.from([0, 0, 0, 2])])),
    },
  ];
  for (const scenario of cases) {
    test(scenario.name, async () => {
      const { error, chain } = await firstError(scenario);
      assert.ok(error instanceof Error, 'the query failed');
      assert.equal(typeof (error as { code?: unknown }).code, 'string', 'with a typed error');
      const guard = chain.find((e) => e instanceof PgProtocolError) as PgProtocolError | undefined;
      assert.ok(
        guard,
        `PgProtocolError in the cause chain: ${chain.map((e) => (e as Error).constructor?.name).join(' <- ')}`,
      );
      assert.equal(guard.code, 'LIFELINE_PG_PROTOCOL');
      assert.match(guard.message, /not valid PostgreSQL protocol/);
    });
  }
});
