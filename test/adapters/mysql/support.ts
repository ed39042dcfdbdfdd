// Shared parts of the lifeline-net/mysql tests: a fault proxy to the machine's MariaDB, an admin connection,
// a per-test table, and a bounded workload of unique-id INSERTs and SELECTs with its checks.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { FaultProxy } from '../../../src/faults/index.js';
import { requireService, services } from '../../support/services.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MysqlEndpoint {
  host: string;
  port: number;
  user: string;
  database: string;
}

export const direct: MysqlEndpoint = {
  host: services.mysql.host,
  port: services.mysql.port,
  user: services.mysql.user,
  database: services.mysql.database,
};

/** Runs `fn` with a fault proxy in front of the shared MariaDB; skips loudly when it is not up. */
export async function withProxy(
  t: TestContext,
  fn: (proxy: FaultProxy, endpoint: MysqlEndpoint) => Promise<void>,
): Promise<void> {
  if (!(await requireService(t, 'mysql'))) return;
  const proxy = new FaultProxy({ listen: '127.0.0.1:0', upstream: `${direct.host}:${direct.port}`, seed: 1 });
  const { host, port } = await proxy.start();
  try {
    await fn(proxy, { ...direct, host, port });
  } finally {
    await proxy.stop();
  }
}

/** A direct admin connection (no proxy), for setup and for checking what the server holds. */
export function admin(): Promise<mysql.Connection> {
  return mysql.createConnection(direct);
}

let tables = 0;
/** A fresh table `(id varchar, n int)` without a key, so an INSERT applied twice shows as two rows. */
export async function freshTable(): Promise<string> {
  const name = `lifeline_mysql_${process.pid}_${tables++}`;
  const c = await admin();
  try {
    await c.query(`drop table if exists ${name}`);
    await c.query(`create table ${name} (id varchar(64) not null, n int not null)`);
  } finally {
    await c.end();
  }
  return name;
}

export async function dropTable(name: string): Promise<void> {
  const c = await admin();
  try {
    await c.query(`drop table if exists ${name}`);
  } finally {
    await c.end();
  }
}

/** The statements the workload runs, whichever API runs them. */
export interface Ops {
  insert(table: string, id: string): Promise<unknown>;
  select(): Promise<unknown>;
}

export interface Outcome {
  inserted: string[];
  unknown: string[];
  selectFailures: unknown[];
  otherFailures: unknown[];
}

/**
 * Up to `rounds` rounds (while `going()` says so) of `callers` concurrent callers, each an INSERT of a
 * unique id and a `select 1`.
 */
export async function runLoad(
  ops: Ops,
  table: string,
  rounds: number,
  callers = 6,
  going: () => boolean = () => true,
): Promise<Outcome> {
  const outcome: Outcome = { inserted: [], unknown: [], selectFailures: [], otherFailures: [] };
  for (let round = 0; round < rounds && going(); round++) {
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        const id = `${round}-${caller}`;
        await Promise.all([
          ops.insert(table, id).then(
            () => outcome.inserted.push(id),
            (error: unknown) => {
              if (error instanceof OutcomeUnknownError) outcome.unknown.push(id);
              else outcome.otherFailures.push(error);
            },
          ),
          ops.select().then(
            (rows) => {
              if (JSON.stringify(rows) !== '[{"one":1}]')
                outcome.selectFailures.push(new Error(`select answered ${JSON.stringify(rows)}`));
            },
            (error: unknown) => outcome.selectFailures.push(error),
          ),
        ]);
      }),
    );
    await sleep(5);
  }
  return outcome;
}

/** The guarantees, checked against the server: no id twice, every acknowledged one there, selects all answered. */
export async function checkOutcome(table: string, outcome: Outcome): Promise<void> {
  assert.deepEqual(outcome.selectFailures, [], 'select never fails');
  assert.deepEqual(outcome.otherFailures, [], 'INSERTs fail only as outcome-unknown');
  const c = await admin();
  try {
    const [rows] = (await c.query(`select id, count(*) as k from ${table} group by id`)) as unknown as [
      Array<{ id: string; k: number }>,
    ];
    assert.deepEqual(
      rows.filter((r) => Number(r.k) > 1).map((r) => r.id),
      [],
      'no INSERT applied twice',
    );
    const stored = new Set(rows.map((r) => r.id));
    assert.deepEqual(
      outcome.inserted.filter((id) => !stored.has(id)),
      [],
      'every acknowledged INSERT is in the table',
    );
    const allowed = new Set([...outcome.inserted, ...outcome.unknown]);
    assert.deepEqual(
      [...stored].filter((id) => !allowed.has(id)),
      [],
      'only ids that were inserted',
    );
  } finally {
    await c.end();
  }
}
