// `lifeline check`'s human output: the report as aligned sections (connections, idle transactions,
// settings, client side, fleet, advice, findings). --json prints the report object instead.

import type { CheckReport, Setting } from './types.js';
import { human } from './types.js';

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Keepalive settings at 0 take the OS default (Linux: 2 h idle, 75 s interval, 9 probes); others are off. */
function settingText(name: string, s: Setting): string {
  const zero = /keep/.test(name) ? 'OS default' : 'off';
  if (s.ms !== undefined) return s.ms === 0 ? `${s.value} (${zero})` : `${s.value} (${human(s.ms)})`;
  if (s.count === 0 && /keep/.test(name)) return `${s.value} (${zero})`;
  return s.value;
}

export function renderReport(report: CheckReport): string {
  const { target, server, client, fleet } = report;
  const out: string[] = [
    `lifeline check ${target.url} (${server.version.toLowerCase().startsWith(target.kind) ? server.version : `${target.kind} ${server.version}`.trim()})`,
    '',
  ];
  const limit = server.limit;
  out.push(
    limit
      ? `Connections: ${server.total} of ${limit.available} available (${limit.setting} ${limit.max}${limit.reserved ? ` − ${limit.reserved} reserved` : ''})`
      : `Connections: ${server.total}`,
  );
  if (server.groups.length > 0) {
    out.push(
      ...table(
        ['APPLICATION', 'USER', 'ADDRESS', 'STATE', 'COUNT', 'OLDEST'],
        server.groups.map((g) => [
          g.application || '-',
          g.user || '-',
          g.address || '-',
          g.state,
          String(g.count),
          `${g.oldestSeconds} s`,
        ]),
      ),
    );
  }
  if (server.pools && server.pools.length > 0) {
    const columns = Object.keys(server.pools[0] ?? {});
    out.push(
      '',
      'Pools (SHOW POOLS):',
      ...table(
        columns.map((c) => c.toUpperCase()),
        server.pools.map((p) => columns.map((c) => String(p[c] ?? ''))),
      ),
    );
  }
  if (server.idleInTransaction.length > 0) {
    out.push('', 'Idle in transaction:');
    out.push(
      ...table(
        ['ID', 'APPLICATION', 'USER', 'ADDRESS', 'IDLE', 'TRANSACTION'],
        server.idleInTransaction.map((t) => [
          t.id,
          t.application || '-',
          t.user || '-',
          t.address || '-',
          `${t.idleSeconds} s`,
          t.transactionSeconds === undefined ? '?' : `${t.transactionSeconds} s`,
        ]),
      ),
    );
  }
  out.push('', 'Settings that cut or keep connections:');
  out.push(
    ...table(
      ['SETTING', 'VALUE'],
      Object.entries(report.settings).map(([k, s]) => [k, settingText(k, s)]),
    ),
  );

  out.push('', 'Client side (this machine, LiveSocket defaults, on a connection to this server):');
  const caps = client.capabilities;
  if (caps) {
    const keep =
      caps.keepalive === 'off'
        ? 'off'
        : `${caps.keepalive}: idle ${caps.keepaliveIdleMs === undefined ? '?' : human(caps.keepaliveIdleMs)}, interval ${caps.keepaliveIntervalMs === undefined ? 'OS default' : human(caps.keepaliveIntervalMs)}, count ${caps.keepaliveCount ?? 'OS default'}`;
    const user =
      caps.userTimeout === 'native' ? `native ${human(caps.userTimeoutMs ?? 0)}` : caps.userTimeout;
    out.push(`  keepalive ${keep}; TCP_USER_TIMEOUT ${user}`);
    for (const r of caps.reasons) out.push(`  (${r})`);
  } else {
    out.push(`  unknown: ${client.error ?? 'the probe connection failed'}`);
  }
  if (fleet) {
    out.push(
      '',
      `Fleet: ${fleet.instances} × ${fleet.poolMax} = ${fleet.total} of ${fleet.available}: ${fleet.fits ? `fits (${fleet.headroom} to spare)` : `does not fit (${-fleet.headroom} too many)`}`,
    );
  }
  if (report.advice.length > 0) {
    out.push('', 'Settings to use against this server:');
    for (const a of report.advice) out.push(`  ${a.option} = ${a.value}`, `      ${a.because}`);
  }
  const warnings = report.findings.filter((f) => f.level === 'warn');
  out.push('', 'Findings:');
  for (const f of report.findings)
    out.push(`  ${f.level === 'warn' ? 'WARN' : 'info'} ${f.code}: ${f.message}`);
  out.push('', warnings.length > 0 ? `${warnings.length} warning(s): exit 1` : 'No warnings: exit 0');
  return out.join('\n');
}
