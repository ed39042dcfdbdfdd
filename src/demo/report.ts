// The HTML report: one self-contained file (no network, no external files) that opens offline. Tables
// are static HTML so the numbers read without JavaScript; charts are drawn as SVG by a small inline
// script from the run's data embedded as JSON, which then sets data-charts-rendered on <body> (the
// test in headless Chromium checks it).

import type { DriverLabels, ExtraFigure } from './driver.js';
import { INCIDENTS, incidentNumbers } from './incidents.js';
import type { SideResult } from './metrics.js';
import type { DemoResult, ScenarioResult } from './runner.js';
import { overall, story } from './story.js';
import { recoveredText as recovered } from './table.js';
import { type FigureKey, verdict } from './verdict.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside <script>: "<" escaped so no string in it can close the element. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

type Side = 'naive' | 'lifeline';

const CLASS = { better: 'good', worse: 'bad', equal: '' } as const;

/** A figure's cell for one side: green where that side did better than the other, red where worse. */
function cell(figure: FigureKey | ExtraFigure, side: Side, r: ScenarioResult, text: string): string {
  const name = CLASS[verdict(figure, side, r)];
  return `<td${name ? ` class="${name}"` : ''}>${escapeHtml(text)}</td>`;
}

function pair(
  figure: FigureKey | ExtraFigure,
  r: ScenarioResult,
  text: (s: SideResult, r: ScenarioResult) => string,
): string {
  return cell(figure, 'naive', r, text(r.naive, r)) + cell(figure, 'lifeline', r, text(r.lifeline, r));
}

const writes = (s: SideResult, r: ScenarioResult): string =>
  r.kind === 'write' ? `${s.lostWrites} / ${s.doubledWrites}` : '—';

const ROWS: readonly [string, FigureKey, (s: SideResult, r: ScenarioResult) => string][] = [
  ['ok ops', 'ok', (s) => String(s.ok)],
  ['app-visible errors', 'errors', (s) => String(s.errors)],
  ['hung ops', 'hung', (s) => String(s.hung)],
  ['latency p50 (ms)', 'p50', (s) => String(s.latencyMs.p50)],
  ['latency p99 (ms)', 'p99', (s) => String(s.latencyMs.p99)],
  ['latency max (ms)', 'max', (s) => String(s.latencyMs.max)],
  ['recovered after the fault', 'recovery', recovered],
  ["pool 'error' events (crash without a listener)", 'events', (s) => String(s.uncaughtErrorEvents)],
  ['writes lost / doubled', 'writes', writes],
];

/** A driver's own figure as a cell's text: its value, or a dash where the side gave none. */
const extraText =
  (figure: ExtraFigure) =>
  (s: SideResult): string =>
    String(s.extras[figure.key] ?? '—');

function messages(side: SideResult): string {
  if (side.errorMessages.length === 0) return '<li class="none">none</li>';
  return side.errorMessages
    .slice(0, 6)
    .map((m) => `<li><span class="count">${m.count}×</span> ${escapeHtml(m.message)}</li>`)
    .join('');
}

/** "Incident 1, 4." with each number a link to its summary at the end of the report. */
function incidentLabel(label: string): string {
  const numbers = incidentNumbers(label);
  if (numbers.length === 0) return '';
  const links = numbers.map((n) => `<a href="#incident-${n}">${n}</a>`).join(', ');
  return ` <span class="incident">Incident ${links}.</span>`;
}

function scenarioSection(r: ScenarioResult, index: number, labels: DriverLabels): string {
  const naive = escapeHtml(labels.naive);
  const lifeline = escapeHtml(labels.lifeline);
  const rows = [...ROWS, ...(labels.extraFigures ?? []).map((f) => [f.label, f, extraText(f)] as const)]
    .map(([label, figure, text]) => `<tr><th>${escapeHtml(label)}</th>${pair(figure, r, text)}</tr>`)
    .join('');
  return `<section class="scenario" id="${escapeHtml(r.name)}" data-scenario="${escapeHtml(r.name)}">
<h2>${index + 1}. ${escapeHtml(r.title)} <code>${escapeHtml(r.name)}</code></h2>
<p class="fault">${escapeHtml(r.fault)}${incidentLabel(r.incident)} Workload: ${escapeHtml(r.kind === 'write' ? labels.write : labels.read)}.</p>
<p class="story">${escapeHtml(story(r, labels))}</p>
<div class="charts">
  <figure><figcaption>${naive}</figcaption><div class="chart" data-index="${index}" data-side="naive"></div></figure>
  <figure><figcaption>${lifeline}</figcaption><div class="chart" data-index="${index}" data-side="lifeline"></div></figure>
</div>
<div class="scroll"><table class="figures"><thead><tr><th></th><th>${naive}</th><th>${lifeline}</th></tr></thead><tbody>${rows}</tbody></table></div>
<div class="messages">
  <div><h3>Errors ${naive}'s caller saw</h3><ul>${messages(r.naive)}</ul></div>
  <div><h3>Errors ${lifeline}'s caller saw</h3><ul>${messages(r.lifeline)}</ul></div>
</div>
</section>`;
}

function summaryTable(results: readonly ScenarioResult[], labels: DriverLabels): string {
  const extras = labels.extraFigures ?? [];
  const count = (pick: (s: SideResult) => number) => (s: SideResult) => String(pick(s));
  const body = results
    .map(
      (r) =>
        `<tr><th><a href="#${escapeHtml(r.name)}">${escapeHtml(r.name)}</a></th>` +
        pair(
          'errors',
          r,
          count((s) => s.errors),
        ) +
        pair(
          'hung',
          r,
          count((s) => s.hung),
        ) +
        pair(
          'p99',
          r,
          count((s) => s.latencyMs.p99),
        ) +
        pair('recovery', r, recovered) +
        pair(
          'events',
          r,
          count((s) => s.uncaughtErrorEvents),
        ) +
        pair('writes', r, (s) => (r.kind === 'write' ? String(s.lostWrites + s.doubledWrites) : '—')) +
        extras.map((f) => pair(f, r, extraText(f))).join('') +
        '</tr>',
    )
    .join('');
  const group = (label: string): string => `<th colspan="2">${label}</th>`;
  const sides = `<th>${escapeHtml(labels.naive)}</th><th>lifeline</th>`.repeat(6 + extras.length);
  const extraGroups = extras.map((f) => group(escapeHtml(f.label))).join('');
  return `<div class="scroll"><table class="summary" id="summary"><thead>
<tr><th rowspan="2">scenario</th>${group('app errors')}${group('hung ops')}${group('p99 ms')}${group('recovered')}${group("'error' events")}${group('writes lost or doubled')}${extraGroups}</tr>
<tr>${sides}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The incidents the scenarios replay, so the report's "Incident N" links work offline. */
function incidentsSection(results: readonly ScenarioResult[]): string {
  const used = new Set(results.flatMap((r) => incidentNumbers(r.incident)));
  const items = Object.entries(INCIDENTS)
    .filter(([n]) => used.has(n))
    .map(
      ([n, i]) =>
        `<li id="incident-${n}"><b>Incident ${n}: ${escapeHtml(i.title)}.</b> ${escapeHtml(i.summary)}</li>`,
    )
    .join('\n');
  if (items === '') return '';
  return `<h2 id="incidents">The incidents</h2>
<p>The real failures the scenarios replay, in short. The full stories, and what lifeline does about each,
are in <code>docs/incidents.md</code> in the lifeline-net source repository.</p>
<ul class="incidents">${items}</ul>`;
}

// Phone widths: wide tables scroll inside their own box (the scenario column stays put), charts and
// figures shrink to the screen, long words in error messages break; the page itself never scrolls sideways
// (test/demo/demo.test.ts measures it at 420 px in headless Chromium).
const STYLE = `
*,*::before,*::after{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#1d2430;background:#fff}
p,li,h2{overflow-wrap:anywhere}
h1{margin:.2rem 0}h2{margin-top:2.5rem;border-top:1px solid #dde;padding-top:1rem}h2 code{font-size:.7em;color:#667}
.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:.25rem .6rem;border-bottom:1px solid #eef;text-align:right}
th:first-child{text-align:left}thead th{background:#f5f6fa;text-align:center}
td.bad{color:#b3261e;font-weight:600}td.good{color:#17663a;font-weight:600}
.summary{width:100%;font-size:14px}.summary th:first-child{white-space:nowrap;position:sticky;left:0;background:#fff}
.summary thead th:first-child{background:#f5f6fa}.figures{width:100%;max-width:640px}
.charts{display:flex;gap:1rem;flex-wrap:wrap}figure{margin:0;flex:1 1 320px;min-width:0}figcaption{font-weight:600;margin-bottom:.2rem}
.chart svg{width:100%;height:auto;display:block}.messages{display:flex;gap:2rem;flex-wrap:wrap}.messages>div{flex:1 1 300px;min-width:0}
h3{font-size:14px;margin-bottom:.2rem}ul,ol{margin:0;padding-left:1.2rem;font-size:13px}.count{font-weight:600}.none{color:#888}
.incidents{list-style:none;padding-left:0}.incidents li{margin-bottom:.5rem;padding:.2rem .4rem}.incidents li:target{background:#fff6d6}
pre{overflow-x:auto;font-size:12px}
.story{background:#f7f8fc;border-left:4px solid #4a6fdc;padding:.5rem .8rem}.fault{color:#445}.incident{color:#778}
.good-key{color:#17663a;font-weight:600}.bad-key{color:#b3261e;font-weight:600}
@media (max-width:600px){body{padding:.75rem;font-size:14px}td,th{padding:.2rem .4rem}h2{margin-top:1.5rem}}
`;

// Runs in the browser: draws each chart from the embedded data, then marks <body> so a test can tell.
const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('demo-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  function el(name, attrs, parent){ var e = document.createElementNS(NS, name); for (var k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; }
  // Below the throughput: the time ops that ended in each bucket took, median (line) and longest (dashed),
  // on one scale for both sides.
  function latencyPanel(svg, s, side, name, top0, P, L, R, w, n){
    var T = top0 + 14, h = P - 34, top = 1;
    ['naive','lifeline'].forEach(function(k){ (s[k].series.latencyMaxMs || []).forEach(function(v){ top = Math.max(top, v); }); });
    var y = function(v){ return T + h - (v / top) * h; }, x = function(i){ return L + ((i + 0.5) / n) * w; };
    var cap = el('text', { x: L, y: T - 4, 'font-size': 10, fill: '#667' }, svg); cap.textContent = 'time to finish (ms): median, longest dashed';
    for (var g = 0; g <= 2; g++) { var gv = top * g / 2; el('line', { x1: L, x2: L + w, y1: y(gv), y2: y(gv), stroke: '#e6e8f0' }, svg); var t = el('text', { x: L - 4, y: y(gv) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667' }, svg); t.textContent = Math.round(gv); }
    var colour = name === 'naive' ? '#7a7f8c' : '#2f62d8';
    var line = function(values, dash){ if (!values) return; el('polyline', { points: values.map(function(v, i){ return x(i).toFixed(1) + ',' + y(v).toFixed(1); }).join(' '), fill: 'none', stroke: colour, 'stroke-width': dash ? 1.5 : 2, 'stroke-dasharray': dash ? '4 3' : 'none', 'class': dash ? 'latency-max' : 'latency-p50' }, svg); };
    line(side.series.latencyP50Ms, false); line(side.series.latencyMaxMs, true);
    el('line', { x1: L, x2: L, y1: T, y2: T + h, stroke: '#99a' }, svg);
  }
  // Below the latency: the side's connections over time (in use solid, idle dashed, waiting requests
  // dotted; one scale for both sides), then connections ended by cause and retries, running totals.
  var CAUSE_COLOURS = ['#d93b30', '#d08a00', '#8a3ffc', '#007d79', '#b28600', '#6f6f6f'];
  function poolPanels(svg, s, side, name, top0, P, L, w){
    var pool = side.pool, T = top0 + 14, h = P - 34;
    var x = function(ms){ return L + (ms / s.durationMs) * w; };
    var colour = name === 'naive' ? '#7a7f8c' : '#2f62d8';
    var top = 1;
    ['naive','lifeline'].forEach(function(k){ var p = s[k].pool; if (p) p.used.concat(p.idle, p.pending).forEach(function(v){ top = Math.max(top, v); }); });
    var y = function(v){ return T + h - (v / top) * h; };
    var cap = el('text', { x: L, y: T - 4, 'font-size': 10, fill: '#667' }, svg); cap.textContent = 'connections: in use, idle dashed, requests waiting dotted';
    for (var g = 0; g <= 2; g++) { var gv = top * g / 2; el('line', { x1: L, x2: L + w, y1: y(gv), y2: y(gv), stroke: '#e6e8f0' }, svg); var t = el('text', { x: L - 4, y: y(gv) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667' }, svg); t.textContent = Math.round(gv); }
    var line = function(values, yy, stroke, dash, cls){ el('polyline', { points: values.map(function(v, i){ return x(pool.atMs[i]).toFixed(1) + ',' + yy(v).toFixed(1); }).join(' '), fill: 'none', stroke: stroke, 'stroke-width': 2, 'stroke-dasharray': dash, 'class': cls }, svg); };
    line(pool.used, y, colour, 'none', 'pool-used'); line(pool.idle, y, colour, '5 3', 'pool-idle'); line(pool.pending, y, '#d08a00', '2 3', 'pool-pending');
    el('line', { x1: L, x2: L, y1: T, y2: T + h, stroke: '#99a' }, svg);
    // Deaths and retries: running totals, on one scale for both sides.
    var T2 = T + P, top2 = 1, causes = Object.keys(pool.deaths);
    ['naive','lifeline'].forEach(function(k){ var p = s[k].pool; if (!p) return; p.retries.forEach(function(v){ top2 = Math.max(top2, v); }); Object.keys(p.deaths).forEach(function(c){ p.deaths[c].forEach(function(v){ top2 = Math.max(top2, v); }); }); });
    var y2 = function(v){ return T2 + h - (v / top2) * h; };
    var cap2 = el('text', { x: L, y: T2 - 4, 'font-size': 10, fill: '#667' }, svg); cap2.textContent = 'so far: retries (dashed), connections ended by cause';
    for (var g2 = 0; g2 <= 2; g2++) { var gv2 = top2 * g2 / 2; el('line', { x1: L, x2: L + w, y1: y2(gv2), y2: y2(gv2), stroke: '#e6e8f0' }, svg); var t2 = el('text', { x: L - 4, y: y2(gv2) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667' }, svg); t2.textContent = Math.round(gv2); }
    line(pool.retries, y2, colour, '5 3', 'pool-retries');
    causes.forEach(function(c, i){ var cc = CAUSE_COLOURS[i % CAUSE_COLOURS.length]; line(pool.deaths[c], y2, cc, 'none', 'pool-deaths'); var lt = el('text', { x: L + w - 2, y: T2 + 10 + i * 11, 'text-anchor': 'end', 'font-size': 10, fill: cc }, svg); lt.textContent = c + ': ' + pool.deaths[c][pool.deaths[c].length - 1]; });
    el('line', { x1: L, x2: L, y1: T2, y2: T2 + h, stroke: '#99a' }, svg);
    s.faultTimesMs.forEach(function(ms){ [T, T2].forEach(function(top){ el('line', { x1: x(ms), x2: x(ms), y1: top, y2: top + h, stroke: '#d08a00', 'stroke-dasharray': '4 3' }, svg); }); });
  }
  var charts = document.querySelectorAll('.chart'); var drawn = 0;
  for (var c = 0; c < charts.length; c++) {
    var host = charts[c]; var s = data.scenarios[Number(host.dataset.index)]; var side = s[host.dataset.side];
    var perSecond = 1000 / s.bucketMs; var n = side.series.ok.length;
    var top = 1;
    ['naive','lifeline'].forEach(function(k){ s[k].series.ok.concat(s[k].series.errors).forEach(function(v){ top = Math.max(top, v * perSecond); }); });
    var W = 480, H = 200, L = 44, R = 8, T = 10, B = 26, w = W - L - R, h = H - T - B, P = 150;
    var pooled = side.pool && side.pool.atMs.length > 0;
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + (H + P * (pooled ? 3 : 1)), role: 'img', 'aria-label': host.dataset.side + ' throughput, errors and time to finish' + (pooled ? ', connections, deaths and retries' : '') }, host);
    var x = function(i){ return L + (i / n) * w; }, y = function(v){ return T + h - (v / top) * h; };
    for (var g = 0; g <= 4; g++) { var gv = top * g / 4; el('line', { x1: L, x2: W - R, y1: y(gv), y2: y(gv), stroke: '#e6e8f0' }, svg); var t = el('text', { x: L - 4, y: y(gv) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667' }, svg); t.textContent = Math.round(gv); }
    var secs = s.durationMs / 1000; for (var sx = 0; sx <= secs; sx += secs > 4 ? 2 : 0.5) { var tx = el('text', { x: L + (sx / secs) * w, y: H - 8, 'text-anchor': 'middle', 'font-size': 10, fill: '#667' }, svg); tx.textContent = sx + ' s'; }
    s.faultTimesMs.forEach(function(ms, i){ var fx = L + (ms / s.durationMs) * w; el('line', { x1: fx, x2: fx, y1: T, y2: T + h, stroke: '#d08a00', 'stroke-dasharray': '4 3' }, svg); if (i === 0) { var ft = el('text', { x: fx + 3, y: T + 10, 'font-size': 10, fill: '#d08a00' }, svg); ft.textContent = 'fault'; } });
    var bw = w / n;
    side.series.errors.forEach(function(v, i){ if (v > 0) el('rect', { x: x(i) + 1, y: y(v * perSecond), width: Math.max(1, bw - 2), height: T + h - y(v * perSecond), fill: '#d93b30', opacity: 0.85 }, svg); });
    var pts = side.series.ok.map(function(v, i){ return (x(i) + bw / 2).toFixed(1) + ',' + y(v * perSecond).toFixed(1); }).join(' ');
    el('polyline', { points: pts, fill: 'none', stroke: host.dataset.side === 'naive' ? '#7a7f8c' : '#2f62d8', 'stroke-width': 2 }, svg);
    el('line', { x1: L, x2: L, y1: T, y2: T + h, stroke: '#99a' }, svg);
    latencyPanel(svg, s, side, host.dataset.side, H, P, L, R, w, n);
    if (pooled) poolPanels(svg, s, side, host.dataset.side, H + P, P, L, w);
    if (side.hung > 0) { var ht = el('text', { x: W - R, y: T + 12, 'text-anchor': 'end', 'font-size': 11, fill: '#b3261e', 'font-weight': 600 }, svg); ht.textContent = side.hung + ' ops hung'; }
    drawn++;
  }
  document.body.dataset.chartsRendered = String(drawn);
})();
`;

export function renderReport(result: DemoResult, tableText: string): string {
  const when = escapeHtml(result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
  const { labels } = result;
  const versus = escapeHtml(`${labels.naive} vs ${labels.lifeline}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>lifeline demo: ${versus}</title><style>${STYLE}</style></head>
<body data-charts-rendered="0">
<h1>lifeline demo: ${versus}</h1>
<p>The same application workload ran through a plain <code>${escapeHtml(labels.naive)}</code> and through <code>${escapeHtml(labels.lifeline)}</code> at the
same time, each behind its own fault proxy to one server (${escapeHtml(result.database)}), and every scenario
injected the same faults into both at the same moments. ${result.mode === 'quick' ? 'Quick mode' : 'Full mode'},
seed ${result.seed}, ${when}, ${(result.elapsedMs / 1000).toFixed(1)} s.${result.aborted ? ' <strong>Interrupted: only the scenarios that finished are shown.</strong>' : ''}</p>
<p>${labels.setupHtml} <b>Hung</b>: still pending well after the load stopped — in production, a request
waiting forever. Charts: successful ops per second (line) and errors per second (red bars), in ${result.scenarios[0]?.bucketMs ?? 250} ms buckets, and below them the time the ops that ended in each bucket took to finish (median, and longest dashed); dashed lines mark the fault actions (the last one of an outage is the heal). Where the side reports its connections, two more panels sample them every ${result.scenarios[0]?.bucketMs ?? 250} ms: in use, idle and requests waiting, then the running totals of connections ended (by cause) and of retries. <b>Recovered</b>: from the last fault action until throughput is back to half its pre-fault level with no error after it.</p>
<p class="story"><b>${escapeHtml(overall(result.scenarios, labels))}</b></p>
<p>In the tables, each figure is <span class="good-key">green</span> on the side that did better on it than the
other side, <span class="bad-key">red</span> on the side that did worse, and plain where both did the same.</p>
${summaryTable(result.scenarios, labels)}
${result.scenarios.map((r, i) => scenarioSection(r, i, labels)).join('\n')}
${incidentsSection(result.scenarios)}
<h2>As printed in the terminal</h2>
<pre>${escapeHtml(tableText)}</pre>
<script type="application/json" id="demo-data">${embedJson(result)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
