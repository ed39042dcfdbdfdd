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
});
