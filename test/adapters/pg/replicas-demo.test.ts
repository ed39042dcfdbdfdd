// The demo's replica-lag and replica-down scenarios (src/demo/scenarios.ts, src/demo/drivers/pg.ts): against a
// real primary and streaming replica, and what they say against the embedded PGlite, which has no replica.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runDemo } from '../../../src/demo/runner.js';
import { PgCluster } from '../../support/pg-cluster.js';
import { requireCapability } from '../../support/services.js';

describe('demo: replica-lag and replica-down', () => {
  let primary: PgCluster | undefined;
  let standby: PgCluster | undefined;
  after(() => {
    standby?.destroy();
    primary?.destroy();
  });

  test('without a replica (embedded PGlite) the scenario says it needs --database-url with ?replica=', {
    timeout: 120_000,
  }, async () => {
    await assert.rejects(runDemo({ quick: true, scenarios: ['replica-down'] }), (error: Error) => {
      assert.match(error.message, /needs a primary with a streaming replica/);
      assert.match(error.message, /--database-url/);
      assert.match(error.message, /\?replica=/);
      return true;
    });
  });

  test('not run unless named: the default list is unchanged', async () => {
    const { findScenarios } = await import('../../../src/demo/scenarios.js');
    const { pgDriver } = await import('../../../src/demo/drivers/pg.js');
    const names = findScenarios(undefined, pgDriver.scenarios).map((s) => s.name);
    assert.ok(!names.includes('replica-lag') && !names.includes('replica-down'));
    assert.deepEqual(
      findScenarios(['replica-lag'], pgDriver.scenarios).map((s) => s.name),
      ['replica-lag'],
    );
  });

  test('against a primary with a replica: lifeline-net/pg answers every request, reading its own writes', {
    timeout: 300_000,
  }, async (t) => {
    if (!requireCapability(t, PgCluster.unsupported())) return;
    primary = await PgCluster.start();
    standby = await PgCluster.start({ standbyOf: primary });
    const result = await runDemo({
      url: `${primary.url}?replica=127.0.0.1:${standby.port}`,
      quick: true,
      scenarios: ['replica-lag', 'replica-down'],
    });
    assert.match(result.database, new RegExp(`streaming replica 127\\.0\\.0\\.1:${standby.port}`));
    assert.deepEqual(
      result.scenarios.map((s) => s.name),
      ['replica-lag', 'replica-down'],
    );
    for (const s of result.scenarios) {
      assert.equal(s.lifeline.errors, 0, `${s.name}: lifeline errors`);
      assert.equal(s.lifeline.hung, 0, `${s.name}: lifeline hung`);
      assert.ok(s.lifeline.ok > 0, `${s.name}: lifeline served nothing`);
    }
    // Replay is resumed when the run stops.
    assert.equal(standby.psql('select pg_is_wal_replay_paused()'), 'f');
  });
});
