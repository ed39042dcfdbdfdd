// The report's colours, links and error texts, on scenario results made by hand: which side did better is
// decided per figure from the numbers, incident labels lead somewhere, and no error text is cut mid-word.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
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
    series: { ok: [10, 10], errors: [0, 0] },
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

function report(scenarios: ScenarioResult[]): string {
  const result: DemoResult = {
    mode: 'quick',
    driver: pgDriver.name,
    labels: pgDriver.labels,
    database: 'embedded',
    seed: 1,
    startedAt: '2026-11-29T12:00:00.000Z',
    elapsedMs: 1000,
    aborted: false,
    scenarios,
  };
  return renderReport(result, renderTable(scenarios, pgDriver.labels));
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
