// The report's colours, links and error texts, on scenario results made by hand: which side did better is
// decided per figure from the numbers, incident labels lead somewhere, and no error text is cut mid-word.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { DriverLabels } from '../../src/demo/driver.js';
import { pgDriver } from '../../src/demo/drivers/pg.js';
import { INCIDENTS } from '../../src/demo/incidents.js';
import { MESSAGE_MAX, normaliseMessage, type SideResult, shorten } from '../../src/demo/metrics.js';
import { renderReport } from '../../src/demo/report.js';
import type { DemoResult, ScenarioResult } from '../../src/demo/runner.js';
import { SCENARIOS } from '../../src/demo/scenarios.js';
import { renderTable } from '../../src/demo/table.js';
import { OutcomeUnknownError } from '../../src/exec/errors.js';

function side(overrides: Partial<SideResult>): SideResult {
  return {
    ok: 1000,
    errors: 0,
    readErrors: 0,
    writeErrors: 0,
    errorMessages: [],
    hung: 0,
    latencyMs: { p50: 2, p99: 15, max: 40 },
    recoveryMs: 30,
    lostWrites: 0,
    doubledWrites: 0,
    uncaughtErrorEvents: 0,
    series: { ok: [10, 10], errors: [0, 0], latencyP50Ms: [2, 3], latencyMaxMs: [9, 40] },
    extras: {},
    ...overrides,
  };
}

function scenario(name: string, naive: Partial<SideResult>, lifeline: Partial<SideResult>): ScenarioResult {
  const script = SCENARIOS.find((s) => s.name === name);
  assert.ok(script, name);
  return {
    name,
    title: script.title,
    incident: script.incident,
    fault: script.fault,
    kind: name === 'writes-reset' ? 'write' : 'read',
    durationMs: 500,
    faultTimesMs: name === 'baseline' ? [] : [100, 300],
    bucketMs: 250,
    naive: side(naive),
    lifeline: side(lifeline),
  };
}

function report(scenarios: ScenarioResult[], labels: DriverLabels = pgDriver.labels): string {
  const result: DemoResult = {
    mode: 'quick',
    driver: pgDriver.name,
    labels,
    database: 'embedded',
    seed: 1,
    startedAt: '2026-11-29T12:00:00.000Z',
    elapsedMs: 1000,
    aborted: false,
    scenarios,
  };
  return renderReport(result, renderTable(scenarios, labels));
}

/** The two cells of a row of a scenario's figures table: [class of pg.Pool's, class of lifeline's]. */
function figureClasses(html: string, scenarioName: string, label: string): [string, string] {
  const section = html.slice(html.indexOf(`data-scenario="${scenarioName}"`));
  const row = new RegExp(`<tr><th>${label}</th><td( class="(\\w+)")?>[^<]*</td><td( class="(\\w+)")?>`).exec(
    section,
  );
  assert.ok(row, `${scenarioName}: no row ${label}`);
  return [row[2] ?? '', row[4] ?? ''];
}

test('each figure is green on the side that did better, red on the worse one, plain when equal', () => {
  // lifeline worse on p99, max and recovery (as in a partition-heal run), better on errors and events,
  // equal on hung and p50; pg.Pool better on ok ops.
  const r = scenario(
    'partition-heal',
    {
      ok: 2079,
      errors: 4,
      uncaughtErrorEvents: 2,
      latencyMs: { p50: 2, p99: 15, max: 2005 },
      recoveryMs: 30,
    },
    {
      ok: 2024,
      errors: 0,
      uncaughtErrorEvents: 0,
      latencyMs: { p50: 2, p99: 17, max: 2233 },
      recoveryMs: 430,
    },
  );
  const html = report([r]);
  assert.deepEqual(figureClasses(html, r.name, 'ok ops'), ['good', 'bad']);
  assert.deepEqual(figureClasses(html, r.name, 'app-visible errors'), ['bad', 'good']);
  assert.deepEqual(figureClasses(html, r.name, 'hung ops'), ['', '']);
  assert.deepEqual(figureClasses(html, r.name, 'latency p50 \\(ms\\)'), ['', '']);
  assert.deepEqual(figureClasses(html, r.name, 'latency p99 \\(ms\\)'), ['good', 'bad']);
  assert.deepEqual(figureClasses(html, r.name, 'latency max \\(ms\\)'), ['good', 'bad']);
  assert.deepEqual(figureClasses(html, r.name, 'recovered after the fault'), ['good', 'bad']);
  assert.deepEqual(figureClasses(html, r.name, 'writes lost / doubled'), ['', '']);
  // The summary row: errors, hung, p99, recovered, 'error' events, writes; two cells each.
  const summary = /<a href="#partition-heal">partition-heal<\/a><\/th>(.*?)<\/tr>/.exec(html)?.[1] ?? '';
  const classes = [...summary.matchAll(/<td(?: class="(\w+)")?>/g)].map((m) => m[1] ?? '');
  assert.deepEqual(classes, ['bad', 'good', '', '', 'good', 'bad', 'good', 'bad', 'bad', 'good', '', '']);
});

test('never recovering is worse than any recovery time; no fault or no writes is nobody better', () => {
  const html = report([
    scenario('stall-reads', { recoveryMs: null, hung: 6 }, { recoveryMs: 710 }),
    scenario('baseline', { recoveryMs: null }, { recoveryMs: null }),
    scenario('writes-reset', { doubledWrites: 14 }, { doubledWrites: 0 }),
  ]);
  assert.deepEqual(figureClasses(html, 'stall-reads', 'recovered after the fault'), ['bad', 'good']);
  assert.deepEqual(figureClasses(html, 'stall-reads', 'hung ops'), ['bad', 'good']);
  assert.deepEqual(figureClasses(html, 'baseline', 'recovered after the fault'), ['', '']);
  // Recovery compares as it reads: 12 ms and 14 ms both read "0.01 s".
  const close = report([scenario('fin-all', { recoveryMs: 12 }, { recoveryMs: 14 })]);
  assert.deepEqual(figureClasses(close, 'fin-all', 'recovered after the fault'), ['', '']);
  assert.deepEqual(figureClasses(html, 'writes-reset', 'writes lost / doubled'), ['bad', 'good']);
});

test("a driver's extra figure is a column of the table and a row of the report, coloured by its direction", () => {
  const labels: DriverLabels = {
    ...pgDriver.labels,
    extraFigures: [
      { key: 'logLines', label: 'log lines', lowerIsBetter: true },
      { key: 'shares', label: 'shares fetched', lowerIsBetter: false },
    ],
  };
  const r = scenario(
    'partition-heal',
    { extras: { logLines: 412, shares: 30 } },
    { extras: { logLines: 3, shares: 30 } },
  );
  const html = report([r], labels);
  assert.deepEqual(figureClasses(html, r.name, 'log lines'), ['bad', 'good']);
  assert.deepEqual(figureClasses(html, r.name, 'shares fetched'), ['', '']);
  const higher = report(
    [scenario('partition-heal', { extras: { shares: 9 } }, { extras: { shares: 30 } })],
    labels,
  );
  assert.deepEqual(figureClasses(higher, r.name, 'shares fetched'), ['bad', 'good']);
  // A side that gave no value: a dash, and neither side better.
  assert.deepEqual(figureClasses(higher, r.name, 'log lines'), ['', '']);
  assert.match(higher, /<tr><th>log lines<\/th><td>—<\/td><td>—<\/td>/);
  // The summary: the shared 6 figures and the 2 extra ones, two cells each; the header names them.
  const summary = /<a href="#partition-heal">partition-heal<\/a><\/th>(.*?)<\/tr>/.exec(html)?.[1] ?? '';
  assert.equal([...summary.matchAll(/<td/g)].length, 16);
  assert.match(html, /<th colspan="2">log lines<\/th><th colspan="2">shares fetched<\/th><\/tr>/);
  // The terminal table: a column per extra figure, "naive → lifeline".
  const text = renderTable([r], labels);
  const [header, , row] = text.split('\n').slice(2);
  assert.match(header ?? '', /log lines\s+shares fetched$/);
  assert.match(row ?? '', /412 → 3\s+30 → 30$/);
  // pg declares none: its table has no such column.
  assert.doesNotMatch(renderTable([r], pgDriver.labels), /log lines/);
});

/** A minimal DOM for the report's chart script: elements with attributes and children, nothing drawn. */
function runCharts(html: string): { svgs: FakeElement[]; rendered: string | undefined } {
  const data = /<script type="application\/json" id="demo-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hosts = [...html.matchAll(/<div class="chart" data-index="(\d+)" data-side="(\w+)"><\/div>/g)].map(
    (m) => new FakeElement('div', { index: m[1]!, side: m[2]! }),
  );
  const body = { dataset: {} as Record<string, string> };
  const document = {
    body,
    getElementById: () => ({ textContent: data }),
    querySelectorAll: () => hosts,
    createElementNS: (_ns: string, name: string) => new FakeElement(name, {}),
  };
  new Function('document', script)(document);
  return { svgs: hosts.flatMap((h) => h.children), rendered: body.dataset.chartsRendered };
}

class FakeElement {
  readonly attributes = new Map<string, string>();
  readonly children: FakeElement[] = [];
  textContent = '';
  constructor(
    readonly name: string,
    readonly dataset: Record<string, string>,
  ) {}
  setAttribute(key: string, value: unknown): void {
    this.attributes.set(key, String(value));
  }
  appendChild(child: FakeElement): void {
    this.children.push(child);
  }
}

test('every chart has a time-to-finish panel: median and longest per bucket, one scale for both sides', () => {
  const r = scenario(
    'partition-heal',
    { series: { ok: [10, 0, 4], errors: [0, 0, 0], latencyP50Ms: [2, 0, 900], latencyMaxMs: [8, 0, 1800] } },
    { series: { ok: [10, 9, 10], errors: [0, 0, 0], latencyP50Ms: [2, 3, 2], latencyMaxMs: [9, 120, 30] } },
  );
  const { svgs, rendered } = runCharts(report([r]));
  assert.equal(rendered, '2');
  assert.equal(svgs.length, 2, 'one svg per side: the latency panel is inside it');
  const ys = (svg: FakeElement, cls: string): number[] => {
    const line = svg.children.find((c) => c.name === 'polyline' && c.attributes.get('class') === cls);
    assert.ok(line, cls);
    const points = (line.attributes.get('points') ?? '').split(' ');
    assert.equal(points.length, 3, 'a point per bucket');
    return points.map((p) => Number(p.split(',')[1]));
  };
  const [naive, lifeline] = svgs as [FakeElement, FakeElement];
  // The same value sits at the same height on both sides (one scale); a larger value sits higher.
  assert.equal(ys(naive, 'latency-p50')[0], ys(lifeline, 'latency-p50')[0]);
  assert.ok(ys(naive, 'latency-max')[2]! < ys(lifeline, 'latency-max')[2]!);
  // The top of the scale is the longest time of either side: 1800 ms, naive's, at the panel's top.
  const top = Math.min(...ys(naive, 'latency-max'));
  assert.ok(ys(lifeline, 'latency-max').every((y) => y > top));
  assert.match(report([r]), /time the ops that ended in each bucket took to finish/);
});

test('"Incident N" labels link to summaries in the report, titled as in docs/incidents.md', async () => {
  const html = report(SCENARIOS.map((s) => scenario(s.name, {}, {})));
  const docs = await readFile(new URL('../../docs/incidents.md', import.meta.url), 'utf8');
  const linked = new Set([...html.matchAll(/<a href="#incident-(\d+)">/g)].map((m) => m[1]));
  const numbers = new Set(SCENARIOS.flatMap((s) => s.incident.split(',').map((n) => n.trim())));
  numbers.delete('—');
  assert.deepEqual([...linked].sort(), [...numbers].sort());
  for (const n of numbers) {
    const incident = INCIDENTS[n];
    assert.ok(incident, `incident ${n} has no summary`);
    assert.match(html, new RegExp(`<li id="incident-${n}"><b>Incident ${n}: `));
    assert.ok(
      docs.includes(`<a id="incident-${n}"></a>\n## ${n}. ${incident.title}\n`),
      `docs: incident ${n}`,
    );
  }
  assert.match(html, /docs\/incidents\.md/);
});

test('a long error text is shortened after a sentence, with its code, never mid-word', () => {
  const error = new OutcomeUnknownError(1, new Error('Connection terminated unexpectedly'));
  const message = normaliseMessage(error);
  assert.ok(message.length <= MESSAGE_MAX, message);
  assert.ok(message.startsWith(`${error.code}: `), message);
  assert.match(message, /\.$/);
  assert.ok(error.message.startsWith(message.slice(error.code.length + 2)), message);
  // No sentence end early enough: whole words and an ellipsis.
  const words = 'word '.repeat(100);
  assert.equal(shorten(words, 23), 'word word word word…');
  // Over generated texts: a prefix of the text, within the limit, ending at a sentence or before a space.
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const pieces: string[] = [];
    for (let w = 0; w < 5 + random(80); w++) {
      pieces.push(
        'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + random(14)) + ['', '', '', '.', ',', ';'][random(6)],
      );
    }
    const text = pieces.join(' ');
    const max = 20 + random(200);
    const short = shorten(text, max);
    assert.ok(short.length <= max, `${short.length} > ${max}`);
    if (text.length <= max) {
      assert.equal(short, text);
      continue;
    }
    const body = short.endsWith('…') ? short.slice(0, -1) : short;
    assert.ok(text.startsWith(body), short);
    const next = text[body.length];
    assert.ok(next === ' ' || next === ',' || next === ';' || next === '.', `cut mid-word: "${short}"`);
  }
});
