// docs/grafana-lifeline.json is built from the metric names: every series a panel queries is one lifeline
// exposes (read from a scrape's TYPE lines), so a renamed metric cannot leave the dashboard blank unnoticed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { instrument } from '../../src/observe/index.js';
import { parsePromText } from './prom-text.js';

const dashboard = JSON.parse(
  readFileSync(new URL('../../docs/grafana-lifeline.json', import.meta.url), 'utf8'),
) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};

test('every metric the Grafana dashboard queries is one lifeline exposes', async () => {
  const registry = new Registry();
  const metrics = instrument({ registry });
  let types: ReadonlyMap<string, string>;
  try {
    types = parsePromText(await registry.metrics()).types;
  } finally {
    metrics.close();
  }
  const queried = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      for (const [name] of expr.matchAll(/\b(?:db_client_connection|lifeline)_[a-z_]+(?=[{[])/g))
        queried.add(name);
    }
  }
  assert.ok(queried.size >= 15, `${queried.size} metrics queried`);
  for (const name of queried) {
    const family = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(name) || types.get(family) === 'histogram', `${name} is not exposed`);
  }
});
