// How `lifeline proxy`'s client commands print what the control API returns: proxies and toxics as
// text (the API's JSON is printed as it is with --json).

/** A proxy as the API returns it. */
export type ProxyInfo = {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicInfo[];
};
/** A toxic as the API returns it. */
export type ToxicInfo = {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, number | boolean>;
  target?: Record<string, number>;
};

/** Rows as aligned columns, the first row the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function describeToxic(t: ToxicInfo): string {
  const attributes = Object.entries(t.attributes).map(([k, v]) => `${k}=${v}`);
  const target = Object.entries(t.target ?? {}).map(([k, v]) => `${k}=${v}`);
  return [
    t.name,
    `${t.type} on ${t.stream}`,
    `toxicity=${t.toxicity}`,
    ...attributes,
    ...(target.length ? [`target: ${target.join(' ')}`] : []),
  ].join('  ');
}

export function describeProxy(p: ProxyInfo): string {
  const lines = [`${p.name}: ${p.listen} -> ${p.upstream} (${p.enabled ? 'enabled' : 'disabled'})`];
  if (p.toxics.length === 0) lines.push('  no toxics');
  for (const t of p.toxics) lines.push(`  ${describeToxic(t)}`);
  return lines.join('\n');
}
