// The demo end to end in --quick mode, in process: every scenario against the embedded Postgres through
// real fault proxies. Asserts what lifeline promises (no app-visible read errors, nothing hung, no write
// applied twice or lost), never a timing, then checks the HTML report in headless Chromium, on a desktop
// and at a phone's width.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { renderReport } from '../../src/demo/report.js';
import { type DemoResult, runDemo } from '../../src/demo/runner.js';
import { SCENARIOS, STUCK_PROXY } from '../../src/demo/scenarios.js';
import { renderMarkdownTable, renderTable } from '../../src/demo/table.js';
import { toolPath, toolSkip } from '../support/tools.js';

const CHROMIUM = toolPath('chromium') ?? 'chromium';

function dumpDom(file: string, profile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--dump-dom',
        pathToFileURL(file).href,
      ],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

const PHONE_PX = 420;

/**
 * A page that shows `report` in a frame as wide as a phone and then records, on its own <body>, how wide
 * the report's page lays out and how far right its charts reach. A frame, because a desktop Chromium
 * window cannot be made narrower than about 500 px (--window-size=420 gives a 485 px viewport); the
 * report's own script runs inside it as it would on a phone.
 */
function phonePage(report: string): string {
  const srcdoc = report.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<!doctype html><html><body>
<iframe id="phone" style="width:${PHONE_PX}px;height:800px;border:0" srcdoc="${srcdoc}"></iframe>
<script>
document.getElementById('phone').addEventListener('load', function () {
  var doc = this.contentDocument, right = 0;
  doc.querySelectorAll('svg').forEach(function (svg) { right = Math.max(right, svg.getBoundingClientRect().right); });
  document.body.dataset.pageWidth = String(doc.documentElement.scrollWidth);
  document.body.dataset.chartsRight = String(Math.ceil(right));
  document.body.dataset.charts = String(doc.body.dataset.chartsRendered);
});
</script></body></html>`;
}

describe('lifeline demo --quick', { timeout: 120_000 }, () => {
  let result: DemoResult;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeline-demo-test-'));
    result = await runDemo({ quick: true, seed: 7 });
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs every scenario to the end', () => {
    assert.equal(result.aborted, false);
    assert.deepEqual(
      result.scenarios.map((s) => s.name),
      [...SCENARIOS, STUCK_PROXY].map((s) => s.name),
    );
    for (const s of result.scenarios) {
      for (const side of [s.naive, s.lifeline]) {
        assert.equal(side.series.ok.length, Math.ceil(s.durationMs / s.bucketMs), s.name);
        assert.equal(side.series.errors.length, side.series.ok.length, s.name);
      }
      assert.ok(s.lifeline.ok > 0, `${s.name}: lifeline completed no op at all`);
    }
  });

  it("lifeline's column: no read errors, nothing hung, no write lost or doubled, no 'error' event", () => {
    for (const s of result.scenarios) {
      const l = s.lifeline;
      const context = `${s.name}: ${JSON.stringify(l.errorMessages)}`;
      assert.equal(l.readErrors, 0, context);
      assert.equal(l.hung, 0, s.name);
      assert.equal(l.doubledWrites, 0, s.name);
      assert.equal(l.lostWrites, 0, s.name);
      assert.equal(l.uncaughtErrorEvents, 0, s.name);
    }
  });

  it('the faults really hurt the plain pg.Pool (the demo shows something)', () => {
    const naive = result.scenarios.filter((s) => s.name !== 'baseline').map((s) => s.naive);
    const trouble = naive.reduce(
      (n, s) => n + s.errors + s.hung + s.doubledWrites + s.uncaughtErrorEvents,
      0,
    );
    assert.ok(trouble > 0, 'no scenario produced any error, hang or doubled write on the plain pool');
    const baseline = result.scenarios.find((s) => s.name === 'baseline');
    assert.equal(baseline?.naive.errors, 0, JSON.stringify(baseline?.naive.errorMessages));
    assert.equal(baseline?.lifeline.errors, 0, JSON.stringify(baseline?.lifeline.errorMessages));
  });

  it('blackhole holds and delivers (pg.Pool only waits); partition-heal loses and closes (pg.Pool errors)', () => {
    const blackhole = result.scenarios.find((s) => s.name === 'blackhole');
    const partition = result.scenarios.find((s) => s.name === 'partition-heal');
    assert.equal(blackhole?.naive.errors, 0, JSON.stringify(blackhole?.naive.errorMessages));
    assert.equal(blackhole?.naive.hung, 0);
    assert.ok((partition?.naive.errors ?? 0) > 0, 'the connections that saw the partition were not closed');
  });

  it('prints a table with a row per scenario, for the terminal and as Markdown', () => {
    const text = renderTable(result.scenarios, result.labels);
    const markdown = renderMarkdownTable(result.scenarios);
    for (const s of result.scenarios) {
      assert.match(text, new RegExp(`^${s.name}\\s`, 'm'));
      assert.match(markdown, new RegExp(`^\\| \`${s.name}\` \\|`, 'm'));
    }
  });

  it('writes an HTML report that renders offline in headless Chromium, with charts and numbers', {
    skip: toolSkip('chromium'),
  }, async () => {
    const file = join(dir, 'demo.html');
    const html = renderReport(result, renderTable(result.scenarios, result.labels));
    assert.doesNotMatch(
      html,
      /<(script|link|img)[^>]+(src|href)=["']?https?:/i,
      'the report must not load anything',
    );
    await writeFile(file, html);
    const dom = await dumpDom(file, join(dir, 'profile'));
    const charts = 2 * result.scenarios.length;
    assert.match(dom, new RegExp(`data-charts-rendered="${charts}"`));
    assert.equal(dom.match(/<svg\b/g)?.length, charts);
    assert.ok((dom.match(/<polyline\b/g)?.length ?? 0) >= charts);
    // The summary table: a row per scenario, each with the scenario and two cells for each of 6 figures.
    const summary = dom.match(/<table class="summary"[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/)?.[1] ?? '';
    const rows = summary.split('</tr>').filter((row) => row.includes('<t'));
    assert.equal(rows.length, result.scenarios.length);
    for (const row of rows) assert.equal(row.match(/<t[dh]\b/g)?.length, 13, row);
    for (const s of result.scenarios) {
      assert.match(dom, new RegExp(`id="${s.name}"`));
      // The per-scenario table carries each side's ok count.
      assert.ok(dom.includes(`>${s.naive.ok}</td>`), `${s.name}: naive ok count missing`);
      assert.ok(dom.includes(`>${s.lifeline.ok}</td>`), `${s.name}: lifeline ok count missing`);
    }
  });

  it(`the report reads on a phone: at ${PHONE_PX} px nothing makes the page scroll sideways`, {
    skip: toolSkip('chromium'),
  }, async () => {
    const file = join(dir, 'phone.html');
    await writeFile(file, phonePage(renderReport(result, renderTable(result.scenarios, result.labels))));
    const body = /<body([^>]*)>/.exec(await dumpDom(file, join(dir, 'profile-phone')))?.[1] ?? '';
    const number = (name: string): number => Number(new RegExp(`data-${name}="(\\d+)"`).exec(body)?.[1]);
    // The charts were drawn, so the widths measured are those of the finished page.
    assert.equal(number('charts'), 2 * result.scenarios.length, body);
    assert.ok(number('page-width') <= PHONE_PX, `the page lays out ${number('page-width')} px wide`);
    assert.ok(number('charts-right') <= PHONE_PX, `a chart reaches ${number('charts-right')} px`);
  });
});
