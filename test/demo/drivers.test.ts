// The demo's driver registry: every registered driver loads, names its scenarios once each, and runs its
// baseline end to end (both sides complete ops, neither sees an error on a healthy network); an unknown
// name lists the drivers there are; the pg driver against the machine's own Postgres (--url) audits its
// writes there and leaves none of its rows behind.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { DRIVERS, findDriver } from '../../src/demo/drivers/index.js';
import { runDemo } from '../../src/demo/runner.js';
import { renderTable } from '../../src/demo/table.js';
import { requireService, services } from '../support/services.js';

describe('demo drivers', { timeout: 300_000 }, () => {
  for (const name of Object.keys(DRIVERS)) {
    it(`${name}: loads, names each scenario once, runs its baseline with no error on either side`, async () => {
      const driver = await findDriver(name).load();
      assert.equal(driver.name, name);
      const names = driver.scenarios.map((s) => s.name);
      assert.equal(new Set(names).size, names.length, `duplicate scenario in ${names.join(', ')}`);
      assert.ok(names.includes('baseline'), `${name} has no baseline scenario`);
      for (const label of [
        driver.labels.naive,
        driver.labels.lifeline,
        driver.labels.read,
        driver.labels.write,
      ]) {
        assert.ok(label.trim() !== '', `${name}: an empty label`);
      }
      const result = await runDemo({ driver: name, quick: true, scenarios: ['baseline'] });
      assert.equal(result.driver, name);
      assert.equal(result.aborted, false);
      const [baseline] = result.scenarios;
      assert.ok(baseline, 'no result');
      for (const side of [baseline.naive, baseline.lifeline]) {
        assert.ok(side.ok > 0, `${name}: a side completed no op`);
        assert.equal(side.errors, 0, JSON.stringify(side.errorMessages));
        assert.equal(side.hung, 0);
      }
      assert.match(
        renderTable(result.scenarios, result.labels),
        new RegExp(
          `^Each cell: ${escapeRegExp(driver.labels.naive)} → ${escapeRegExp(driver.labels.lifeline)}\\.`,
        ),
      );
    });
  }

  it('an unknown driver is an error that lists the drivers', () => {
    assert.throws(() => findDriver('nope'), {
      message: `unknown driver 'nope'; choose from ${Object.keys(DRIVERS).join(', ')}`,
    });
    // Not an inherited property either.
    assert.throws(() => findDriver('toString'), /unknown driver 'toString'/);
  });

  it('pg with --url: a server that refuses the database is an error that says what to do', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const { host, port, user } = services.postgres;
    const url = `postgres://${user}:hunter2@${host}:${port}/lifeline_no_such_db`;
    await assert.rejects(runDemo({ url, quick: true, scenarios: ['baseline'] }), (error: Error) => {
      assert.match(
        error.message,
        /^cannot use the database at postgres:\/\/\w+:\*\*\*@[^ ]+\/lifeline_no_such_db: .*lifeline_no_such_db.*\. Check that it is running and that --database-url is right/,
      );
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });

  it('pg with --url: the writes are audited on that server and its rows are removed after the run', async (t) => {
    if (!(await requireService(t, 'postgres'))) return;
    const { host, port, user, database } = services.postgres;
    const url = `postgres://${user}@${host}:${port}/${database}`;
    const rows = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const exists = await client.query("SELECT to_regclass('lifeline_demo_writes') IS NOT NULL AS e");
        if (!exists.rows[0]?.e) return 0;
        return Number((await client.query('SELECT count(*) AS n FROM lifeline_demo_writes')).rows[0]?.n);
      } finally {
        await client.end();
      }
    };
    const before = await rows();
    const result = await runDemo({ url, quick: true, scenarios: ['writes-reset'] });
    assert.equal(result.database, url);
    const [writes] = result.scenarios;
    assert.ok(writes && writes.lifeline.ok > 0, 'lifeline wrote nothing');
    assert.equal(writes.lifeline.lostWrites, 0);
    assert.equal(writes.lifeline.doubledWrites, 0);
    assert.equal(await rows(), before, 'the run left rows in lifeline_demo_writes');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
