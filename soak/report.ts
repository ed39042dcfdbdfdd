// The soak's output: a text table per adapter and an HTML page with the resource curves (inline SVG).
import type { SoakResult } from './soak.js';

export function table(r: SoakResult): string {
  const lines = [
    `soak: ${r.minutes} min, seed ${r.seed}, ${r.faults} faults — ${r.ok ? 'PASS' : 'FAIL'}`,
    r.kernel.on
      ? `kernel drops: ${r.kernel.drops} in a network namespace${r.kernel.errors.length ? ` (${r.kernel.errors.length} iptables errors)` : ''}`
      : `kernel drops: SKIPPED (${r.kernel.reason})`,
    '',
    'adapter     ops      acked   p99 ms  lost  dup  past-deadline  conn/min  conn max  errors',
  ];
  for (const a of r.adapters) {
    const errors = Object.entries(a.errors)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    lines.push(
      `${a.name.padEnd(11)} ${String(a.ops).padEnd(8)} ${String(a.writesAcked).padEnd(7)} ${String(a.p99Ms).padEnd(7)} ${String(a.lost).padEnd(5)} ${String(a.duplicated).padEnd(4)} ${String(a.pastDeadline).padEnd(14)} ${a.connectionsSlope.toFixed(2).padEnd(9)} ${String(a.connectionsMax).padEnd(9)} ${errors}`,
    );
  }
  lines.push('', 'resource            slope/min  growing');
  for (const [k, v] of Object.entries(r.resources.slopes)) {
    lines.push(
      `${k.padEnd(19)} ${v.toFixed(2).padEnd(10)} ${r.resources.growing.includes(k) ? 'YES' : 'no'}`,
    );
  }
  for (const a of r.adapters) {
    for (const l of a.late) {
      lines.push(
        `${a.name}: ${l.write ? 'write' : 'read'} started at ${(l.atMs / 1000).toFixed(1)} s past its bound; ${l.settledAfterMs === undefined ? 'not settled by the end' : `settled (${l.outcome}) after ${l.settledAfterMs} ms`}`,
      );
    }
  }
  for (const a of r.adapters) {
    for (const [key, message] of Object.entries(a.untyped ?? {})) {
      lines.push(`${a.name}: untyped ${key} (${a.errors[key] ?? 0}), first: ${message}`);
    }
  }
  if (r.uncaught.length > 0) lines.push('', ...r.uncaught);
  if (r.kernel.errors.length > 0) lines.push('', ...r.kernel.errors);
  return `${lines.join('\n')}\n`;
}

function curve(r: SoakResult, key: 'fds' | 'closeWait' | 'heapMb' | 'serverConnections'): string {
  const s = r.resources.samples;
  const w = 600;
  const h = 120;
  const maxT = Math.max(1, ...s.map((x) => x.t));
  const maxV = Math.max(1, ...s.map((x) => x[key]));
  const points = s
    .map((x) => `${((x.t / maxT) * w).toFixed(1)},${(h - (x[key] / maxV) * h).toFixed(1)}`)
    .join(' ');
  return `<h3>${key} (max ${maxV.toFixed(1)}, slope ${(r.resources.slopes[key] ?? 0).toFixed(2)}/min)</h3>
<svg width="${w}" height="${h}" style="border:1px solid #ccc"><polyline fill="none" stroke="#36c" points="${points}"/></svg>`;
}

export function html(r: SoakResult): string {
  const esc = (t: string) => t.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
  return `<!doctype html><meta charset="utf-8"><title>lifeline soak seed ${r.seed}</title>
<h1>lifeline soak — ${r.ok ? 'PASS' : 'FAIL'}</h1><pre>${esc(table(r))}</pre>
${(['fds', 'closeWait', 'heapMb', 'serverConnections'] as const).map((k) => curve(r, k)).join('\n')}
`;
}
