// prom-client's cluster aggregation over lifeline's metrics: a real 2-worker node:cluster in a child process,
// the primary's aggregated scrape parsed, and the sums checked against what each worker holds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePromText, sample } from './prom-text.js';

const app = fileURLToPath(new URL('./fixtures/cluster-app.ts', import.meta.url));

test('the primary of a 2-worker cluster scrapes the sum of both workers pools', {
  timeout: 120_000,
}, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', app], {
    timeout: 90_000,
  });
  const scrape = parsePromText(stdout);
  const app_ = { db_client_connection_pool_name: 'app' };
  // Worker 1 holds 1 connection, worker 2 holds 2; each pool allows 3.
  assert.equal(
    sample(scrape, 'db_client_connection_count', { ...app_, db_client_connection_state: 'used' }),
    3,
  );
  assert.equal(
    sample(scrape, 'db_client_connection_count', { ...app_, db_client_connection_state: 'idle' }),
    0,
  );
  assert.equal(sample(scrape, 'db_client_connection_max', app_), 6);
  assert.equal(sample(scrape, 'db_client_connection_create_time_seconds_count', app_), 3);
  assert.equal(sample(scrape, 'db_client_connection_wait_time_seconds_bucket', { ...app_, le: '+Inf' }), 3);
  assert.equal(sample(scrape, 'db_client_connection_wait_time_seconds_count', app_), 3);
  assert.equal(scrape.types.get('db_client_connection_wait_time_seconds'), 'histogram');
});
