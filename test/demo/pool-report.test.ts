// The report's pool charts (issue 15): a short demo scenario runs for real, the HTML report is rendered, and
// the run's data embedded in it (the JSON the charts are drawn from, parsed, not string-matched) holds each
// side's connections over time: samples every bucket from the start to the end of the load, connections by
// state, connections ended by cause and retries as running totals that move when the fault kills connections.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { PoolSeries, SideResult } from '../../src/demo/metrics.js';
import { renderReport } from '../../src/demo/report.js';
import { type DemoResult, runDemo } from '../../src/demo/runner.js';
import { renderTable } from '../../src/demo/table.js';
import { services } from '../support/services.js';
import { toolPath, toolSkip } from '../support/tools.js';

/** The report's DOM after its script ran in headless Chromium. */
async function renderedDom(html: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-pool-report-'));
  try {
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    return await new Promise((resolve, reject) => {
      execFile(
        toolPath('chromium') ?? 'chromium',
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--dump-dom',
          pathToFileURL(file).href,
        ],
        { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let pgReport: string | undefined;

/** The run's data as the report embeds it for its charts. */
function embeddedData(html: string): DemoResult {
  const match = /<script type="application\/json" id="demo-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match, 'the report embeds no demo-data');
  return JSON.parse(match[1]!) as DemoResult;
}

/** Checks the series' shape and returns it: one value per sample everywhere, times rising, totals never falling. */
function poolOf(side: SideResult, name: string, durationMs: number, bucketMs: number): PoolSeries {
  const pool = side.pool;
  assert.ok(pool, `${name}: no pool series in the report's data`);
  assert.equal(pool.sampleMs, bucketMs);
  const n = pool.atMs.length;
  // From the load's start to its end, one sample per bucket (a busy loop may skip a few timer turns).
  assert.ok(n >= Math.floor(durationMs / bucketMs) - 2, `${name}: only ${n} samples`);
  assert.ok(pool.atMs[0]! < bucketMs, `${name}: first sample at ${pool.atMs[0]} ms`);
  assert.ok(pool.atMs[n - 1]! >= durationMs, `${name}: last sample at ${pool.atMs[n - 1]} ms`);
  for (let i = 1; i < n; i++) assert.ok(pool.atMs[i]! >= pool.atMs[i - 1]!, `${name}: times out of order`);
  const series: [string, number[]][] = [
    ['used', pool.used],
    ['idle', pool.idle],
    ['pending', pool.pending],
    ['retries', pool.retries],
    ...Object.entries(pool.deaths).map(([cause, values]): [string, number[]] => [`deaths ${cause}`, values]),
  ];
  for (const [label, values] of series) {
    assert.equal(values.length, n, `${name}: ${label} has ${values.length} values for ${n} samples`);
    for (const v of values) assert.ok(Number.isInteger(v) && v >= 0, `${name}: ${label} holds ${v}`);
  }
  for (const [label, values] of series.filter(([l]) => l === 'retries' || l.startsWith('deaths'))) {
    for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!, `${name}: ${label} fell`);
  }
  return pool;
}

/** Connections ended, all causes, at sample i. */
function deathsAt(pool: PoolSeries, i: number): number {
  let sum = 0;
  for (const values of Object.values(pool.deaths)) sum += values[i]!;
  return sum;
}

/** The index of the last sample taken before `ms`. */
function lastBefore(pool: PoolSeries, ms: number): number {
  let index = 0;
  while (index + 1 < pool.atMs.length && pool.atMs[index + 1]! < ms) index++;
  return index;
}

describe('the demo report charts each side’s pool over time', { timeout: 120_000 }, () => {
  it('pg (the machine’s Postgres), reset-all: connections by state, deaths by cause and retries per side', async () => {
    const { host, port, user, database } = services.postgres;
    const result = await runDemo({
      driver: 'pg',
      url: `postgres://${user}@${host}:${port}/${database}`,
      quick: true,
      scenarios: ['reset-all'],
    });
    const html = renderReport(result, renderTable(result.scenarios, result.labels));
    pgReport = html;
    const data = embeddedData(html);
    const [scenario] = data.scenarios;
    assert.ok(scenario, 'no scenario in the data');
    assert.equal(scenario.name, 'reset-all');
    const firstFault = scenario.faultTimesMs[0];
    assert.ok(firstFault !== undefined, 'no fault time');
    for (const name of ['naive', 'lifeline'] as const) {
      const pool = poolOf(scenario[name], name, scenario.durationMs, scenario.bucketMs);
      // The pool had its connections open before the fault (in use or idle: between two queries a
      // worker thinks, so a sample may find them all idle), and no death yet.
      const before = lastBefore(pool, firstFault);
      assert.ok(
        pool.used.slice(1, before + 1).some((v, i) => v + pool.idle[i + 1]! > 0),
        `${name}: no connection open before the fault`,
      );
      assert.equal(deathsAt(pool, before), 0, `${name}: deaths before the fault`);
      // The RSTs kill every connection: the side's deaths move, under a named cause.
      const after = deathsAt(pool, pool.atMs.length - 1);
      assert.ok(after > 0, `${name}: no connection ended after the resets`);
      for (const cause of Object.keys(pool.deaths)) assert.ok(cause.trim() !== '', `${name}: empty cause`);
    }
    // lifeline's pool names its evictions; pg.Pool's drops are counted by the error they were released with.
    const lifeline = scenario.lifeline.pool!;
    assert.ok(
      Object.keys(lifeline.deaths).every((cause) =>
        ['dead', 'ping-failed', 'idle-timeout', 'lifetime', 'released-destroy'].includes(cause),
      ),
      `lifeline causes: ${Object.keys(lifeline.deaths).join(', ')}`,
    );
  });

  it('mysql (the machine’s MariaDB), reset-all: both pools’ series move when the RSTs kill connections', async () => {
    const { host, port, user, database } = services.mysql;
    const result = await runDemo({
      driver: 'mysql',
      url: `mysql://${user}@${host}:${port}/${database}`,
      quick: true,
      scenarios: ['reset-all'],
    });
    const data = embeddedData(renderReport(result, renderTable(result.scenarios, result.labels)));
    const [scenario] = data.scenarios;
    assert.ok(scenario, 'no scenario in the data');
    const firstFault = scenario.faultTimesMs[0]!;
    for (const name of ['naive', 'lifeline'] as const) {
      const pool = poolOf(scenario[name], name, scenario.durationMs, scenario.bucketMs);
      assert.equal(deathsAt(pool, lastBefore(pool, firstFault)), 0, `${name}: deaths before the fault`);
      assert.ok(deathsAt(pool, pool.atMs.length - 1) > 0, `${name}: no connection ended after the resets`);
    }
  });

  it('redis (the machine’s Redis), reset-all: each client’s one connection closes under the RSTs', async () => {
    const { host, port } = services.redis;
    const result = await runDemo({
      driver: 'redis',
      url: `redis://${host}:${port}`,
      quick: true,
      scenarios: ['reset-all'],
    });
    const data = embeddedData(renderReport(result, renderTable(result.scenarios, result.labels)));
    const [scenario] = data.scenarios;
    assert.ok(scenario, 'no scenario in the data');
    const firstFault = scenario.faultTimesMs[0]!;
    for (const name of ['naive', 'lifeline'] as const) {
      const pool = poolOf(scenario[name], name, scenario.durationMs, scenario.bucketMs);
      // One connection: never more than one open.
      for (let i = 0; i < pool.atMs.length; i++) assert.ok(pool.used[i]! + pool.idle[i]! <= 1, name);
      assert.equal(deathsAt(pool, lastBefore(pool, firstFault)), 0, `${name}: deaths before the fault`);
      assert.ok(deathsAt(pool, pool.atMs.length - 1) > 0, `${name}: no close counted after the resets`);
    }
  });

  it('http (embedded server), reset-all: both agents’ connections and disconnects by cause', async () => {
    const result = await runDemo({ driver: 'http', quick: true, scenarios: ['reset-all'] });
    const data = embeddedData(renderReport(result, renderTable(result.scenarios, result.labels)));
    const [scenario] = data.scenarios;
    assert.ok(scenario, 'no scenario in the data');
    const firstFault = scenario.faultTimesMs[0]!;
    for (const name of ['naive', 'lifeline'] as const) {
      const pool = poolOf(scenario[name], name, scenario.durationMs, scenario.bucketMs);
      assert.equal(deathsAt(pool, lastBefore(pool, firstFault)), 0, `${name}: deaths before the fault`);
      assert.ok(deathsAt(pool, pool.atMs.length - 1) > 0, `${name}: no disconnect counted after the resets`);
    }
  });

  it('the pool panels are drawn from that data in headless Chromium, one set per side', {
    skip: toolSkip('chromium'),
  }, async () => {
    assert.ok(pgReport, 'the pg run above made no report');
    const dom = await renderedDom(pgReport);
    assert.match(dom, /data-charts-rendered="2"/);
    const data = embeddedData(pgReport);
    const pool = data.scenarios[0]!.naive.pool!;
    for (const cls of ['pool-used', 'pool-idle', 'pool-pending', 'pool-retries']) {
      assert.equal(dom.match(new RegExp(`class="${cls}"`, 'g'))?.length, 2, cls);
    }
    const causes = Object.keys(data.scenarios[0]!.naive.pool!.deaths).length;
    const lifelineCauses = Object.keys(data.scenarios[0]!.lifeline.pool!.deaths).length;
    assert.equal(dom.match(/class="pool-deaths"/g)?.length, causes + lifelineCauses);
    // Each drawn line has one point per sample.
    const used = /<polyline points="([^"]*)"[^>]*class="pool-used"/.exec(dom);
    assert.ok(used, 'no pool-used line');
    assert.equal(used[1]!.trim().split(/\s+/).length, pool.atMs.length);
  });

  it('grid, a peer vanishes: the naive side’s requests keep their sockets; the PeerSet re-asks', async () => {
    const result = await runDemo({ driver: 'grid', quick: true, scenarios: ['grid'] });
    const data = embeddedData(renderReport(result, renderTable(result.scenarios, result.labels)));
    const [scenario] = data.scenarios;
    assert.ok(scenario, 'no scenario in the data');
    const naive = poolOf(scenario.naive, 'naive', scenario.durationMs, scenario.bucketMs);
    const lifeline = poolOf(scenario.lifeline, 'lifeline', scenario.durationMs, scenario.bucketMs);
    const last = naive.atMs.length - 1;
    // The naive client's requests to the silent peer hang on their sockets to the end of the load.
    assert.ok(naive.used[last]! > 0, `naive: ${naive.used[last]} sockets in use at the end`);
    assert.equal(naive.retries[last], 0);
    // The PeerSet asked alternates (or hedged) past the lost and slow peers.
    assert.ok(lifeline.retries.at(-1)! > 0, 'lifeline: no alternate or hedge counted');
  });
});
