// Per-host metrics of lifeline-net/pg with reads on replicas, scraped from a prom-client registry and parsed:
// against a private primary and a real streaming replica (PgCluster), with replay paused to make lag.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { Pool } from '../../src/adapters/pg/index.js';
import { instrument } from '../../src/observe/index.js';
import { PgCluster } from '../support/pg-cluster.js';
import { requireCapability } from '../support/services.js';
import { parsePromText, type Scrape, sample } from './prom-text.js';

/** A sample, or undefined while the series does not exist yet (a host's role is not known before its check). */
function maybe(scrape: Scrape, name: string, labels: Record<string, string>): number | undefined {
  try {
    return sample(scrape, name, labels);
  } catch {
    return undefined;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const clusters: PgCluster[] = [];
after(() => {
  for (const c of clusters.reverse()) c.destroy();
});

test('replica metrics: role, up, eligibility, lag, reads routed per host; a paused replica shows lag and takes no reads', {
  timeout: 180_000,
}, async (t) => {
  if (!requireCapability(t, PgCluster.unsupported())) return;
  const primary = await PgCluster.start();
  clusters.push(primary);
  primary.psql('select 1');
  const standby = await PgCluster.start({ standbyOf: primary });
  clusters.push(standby);

  const pool = new Pool({
    connectionString: `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/test`,
    max: 4,
    lifeline: { routeReads: true, replicaCheckIntervalMs: 50, maxReplicaLagMs: 300 },
  });
  const registry = new Registry();
  const metrics = instrument({ registry }).pool(pool, 'orders');
  t.after(async () => {
    metrics.close();
    await pool.end();
  });
  const P = { db_client_connection_pool_name: 'orders', server_address: `127.0.0.1:${primary.port}` };
  const S = { db_client_connection_pool_name: 'orders', server_address: `127.0.0.1:${standby.port}` };
  const scrape = async () => parsePromText(await registry.metrics());

  await pool.query('create table if not exists m (id int primary key)');
  await until('the replica takes reads and has replayed the table', async () => {
    const s = await scrape();
    return (
      maybe(s, 'lifeline_replica_eligible', { ...S, lifeline_host_role: 'replica' }) === 1 &&
      maybe(s, 'lifeline_replica_lag_bytes', { ...S, lifeline_host_role: 'replica' }) === 0
    );
  });
  for (let i = 0; i < 10; i++) await pool.query('select count(*) from m');

  let s = await scrape();
  assert.equal(sample(s, 'lifeline_host_up', { ...P, lifeline_host_role: 'primary' }), 1);
  assert.equal(sample(s, 'lifeline_host_up', { ...S, lifeline_host_role: 'replica' }), 1);
  assert.ok(sample(s, 'lifeline_replica_reads_total', { ...S, lifeline_host_role: 'replica' }) >= 10);
  assert.equal(sample(s, 'lifeline_replica_reads_total', { ...P, lifeline_host_role: 'primary' }), 0);
  assert.equal(sample(s, 'lifeline_replica_fallbacks_total', { ...S, lifeline_host_role: 'replica' }), 0);
  assert.ok(sample(s, 'lifeline_replica_lag_seconds', { ...S, lifeline_host_role: 'replica' }) >= 0);
  assert.ok(sample(s, 'lifeline_replica_lag_bytes', { ...S, lifeline_host_role: 'replica' }) >= 0);
  // The primary has no replica series: eligibility and lag are a replica's.
  assert.equal(
    s.samples.filter(
      (x) => x.name === 'lifeline_replica_eligible' && x.labels.server_address === P.server_address,
    ).length,
    0,
  );

  // Replay paused, the primary writes on: the replica falls behind, leaves the readers, and reads go elsewhere.
  standby.psql('select pg_wal_replay_pause()');
  t.after(() => {
    try {
      standby.psql('select pg_wal_replay_resume()');
    } catch {
      // the cluster may already be gone
    }
  });
  for (let i = 0; i < 20; i++) await pool.query('insert into m values ($1) on conflict do nothing', [i]);
  await until('the paused replica is over the lag bound', async () => {
    const now = await scrape();
    return maybe(now, 'lifeline_replica_eligible', { ...S, lifeline_host_role: 'replica' }) === 0;
  });
  s = await scrape();
  assert.ok(sample(s, 'lifeline_replica_lag_bytes', { ...S, lifeline_host_role: 'replica' }) > 0);
  const routedBefore = sample(s, 'lifeline_replica_reads_total', { ...S, lifeline_host_role: 'replica' });
  const toPrimaryBefore = sample(s, 'lifeline_replica_reads_to_primary_total', {
    db_client_connection_pool_name: 'orders',
  });
  for (let i = 0; i < 5; i++) await pool.query('select count(*) from m');
  s = await scrape();
  assert.equal(
    sample(s, 'lifeline_replica_reads_total', { ...S, lifeline_host_role: 'replica' }),
    routedBefore,
  );
  assert.equal(
    sample(s, 'lifeline_replica_reads_to_primary_total', { db_client_connection_pool_name: 'orders' }),
    toPrimaryBefore + 5,
  );
});
