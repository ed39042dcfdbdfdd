// `lifeline demo --driver grid`, the grid scenario end to end: the naive k-of-n client is left with fetches
// that never end (a vanished peer holds them), lifeline-net/peers finishes every fetch without an error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDemo } from '../../src/demo/runner.js';

test('demo grid: a vanished and a slow peer hang the naive client, not lifeline-net/peers', {
  timeout: 120_000,
}, async () => {
  const result = await runDemo({ driver: 'grid', quick: true, scenarios: ['grid'] });
  assert.equal(result.aborted, false);
  const [grid] = result.scenarios;
  assert.ok(grid, 'no result');
  assert.ok(grid.naive.hung > 0, `naive: ${JSON.stringify(grid.naive)}`);
  assert.equal(grid.lifeline.hung, 0);
  assert.equal(grid.lifeline.errors, 0, JSON.stringify(grid.lifeline.errorMessages));
  assert.ok(grid.lifeline.ok > grid.naive.ok, 'lifeline finished more fetches');
  // Log lines: the naive client one per failed request, the PeerSet one per incident (peer and cause).
  const naiveLines = grid.naive.extras.logLines ?? Number.NaN;
  const { logLines, failingLines, incidents } = grid.lifeline.extras;
  assert.ok(naiveLines >= grid.naive.hung, `each hung fetch logged when it failed: ${naiveLines}`);
  assert.ok(naiveLines > (logLines ?? Number.NaN), `naive ${naiveLines} vs PeerSet ${logLines} lines`);
  assert.ok((incidents ?? 0) >= 1, 'the vanished peer is an incident');
  assert.equal(failingLines, incidents, 'one line per incident');
  // Both sides' time to finish over time, in every bucket of the run.
  for (const side of [grid.naive, grid.lifeline]) {
    assert.equal(side.series.latencyMaxMs.length, side.series.ok.length);
    assert.ok(side.series.latencyP50Ms.every((p50, i) => p50 <= side.series.latencyMaxMs[i]!));
  }
  assert.equal(Math.max(...grid.lifeline.series.latencyMaxMs), grid.lifeline.latencyMs.max);
});
