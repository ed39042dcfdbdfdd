// The side-by-side table: one row per scenario, each figure as "naive → lifeline" (for pg: "pg.Pool →
// lifeline-net/pg", the names are the driver's). The same rows render for a terminal (aligned columns) and
// as Markdown (docs and the README).

import type { DriverLabels, ExtraFigure } from './driver.js';
import type { SideResult } from './metrics.js';
import type { ScenarioResult } from './runner.js';

interface Column {
  header: string;
  cell(side: SideResult, result: ScenarioResult): string;
}

const dash = '—';

/** Time from the last fault action until the side was back to speed; a dash when there was no fault. */
export function recoveredText(s: SideResult, r: ScenarioResult): string {
  if (r.faultTimesMs.length === 0) return dash;
  return s.recoveryMs === null ? 'never' : `${(s.recoveryMs / 1000).toFixed(2)} s`;
}

const COLUMNS: readonly Column[] = [
  { header: 'ok ops', cell: (s) => String(s.ok) },
  { header: 'app errors', cell: (s) => String(s.errors) },
  { header: 'hung', cell: (s) => String(s.hung) },
  { header: 'p99 ms', cell: (s) => String(s.latencyMs.p99) },
  { header: 'max ms', cell: (s) => String(s.latencyMs.max) },
  { header: 'recovered', cell: recoveredText },
  { header: "'error' events", cell: (s) => String(s.uncaughtErrorEvents) },
  {
    header: 'writes lost/doubled',
    cell: (s, r) => (r.kind === 'write' ? `${s.lostWrites}/${s.doubledWrites}` : dash),
  },
];

const ARROW = ' → ';

/** The shared columns, then the driver's own figures (a dash for a side that gave no value). */
function columns(extras: readonly ExtraFigure[] = []): readonly Column[] {
  if (extras.length === 0) return COLUMNS;
  return [
    ...COLUMNS,
    ...extras.map((f) => ({ header: f.label, cell: (s: SideResult) => String(s.extras[f.key] ?? dash) })),
  ];
}

function rows(results: readonly ScenarioResult[], cols: readonly Column[]): string[][] {
  return results.map((r) => [
    r.name,
    ...cols.map((c) => {
      const naive = c.cell(r.naive, r);
      const lifeline = c.cell(r.lifeline, r);
      return naive === dash && lifeline === dash ? dash : `${naive}${ARROW}${lifeline}`;
    }),
  ]);
}

export function renderTable(
  results: readonly ScenarioResult[],
  labels: Pick<DriverLabels, 'naive' | 'lifeline' | 'extraFigures'>,
): string {
  const cols = columns(labels.extraFigures);
  const headers = ['scenario', ...cols.map((c) => c.header)];
  const body = rows(results, cols);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    `Each cell: ${labels.naive}${ARROW}${labels.lifeline}. Same workload, same faults, at the same time.`,
    '',
    line(headers),
    line(widths.map((w) => '─'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

export function renderMarkdownTable(
  results: readonly ScenarioResult[],
  labels: Pick<DriverLabels, 'extraFigures'> = {},
): string {
  const cols = columns(labels.extraFigures);
  const headers = ['scenario', ...cols.map((c) => c.header)];
  const body = rows(results, cols);
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(headers),
    line(headers.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...body.map((row) => line(row.map((cell, i) => (i === 0 ? `\`${cell}\`` : cell)))),
  ].join('\n');
}
