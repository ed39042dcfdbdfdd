// `lifeline demo --driver http`: the keep-alive race scenario, end to end. undici's Agent loses reads to the
// race; lifeline-net/http's Agent sends each lost GET again, so its callers see no error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDemo } from '../../src/demo/runner.js';

test('demo --driver http, keepalive-race: the plain Agent’s callers see errors, lifeline’s none', {
  timeout: 120_000,
}, async () => {
  const result = await runDemo({ driver: 'http', quick: true, scenarios: ['keepalive-race'] });
  const [race] = result.scenarios;
  assert.ok(race, 'no result');
  assert.ok(race.naive.errors > 0, 'the race reached the plain Agent');
  assert.equal(race.lifeline.errors, 0, JSON.stringify(race.lifeline.errorMessages));
  assert.equal(race.lifeline.hung, 0);
  assert.ok(race.lifeline.ok > 0);
});
