// What lifeline reports, independent of where it goes: metric families with OpenTelemetry names, units and
// attributes. prometheus.ts and otel.ts translate this one model; docs/observe.md lists every family.
import type { Histogram } from './histogram.js';

export type Attributes = Readonly<Record<string, string>>;

export interface ValueSample {
  readonly attributes: Attributes;
  readonly value: number;
}

export interface HistogramSample {
  readonly attributes: Attributes;
  readonly histogram: Histogram;
}

interface FamilyBase {
  /** The OpenTelemetry name (dotted); the Prometheus name is derived from it (promName). */
  readonly name: string;
  readonly description: string;
  /** UCUM unit as OpenTelemetry writes it: '{connection}', 's', … */
  readonly unit: string;
}

/** A value read at collection time: a gauge-like up-down counter, or a monotonic counter. */
export interface ValueFamily extends FamilyBase {
  readonly kind: 'updown' | 'counter' | 'gauge';
  collect(): ValueSample[];
}

export interface HistogramFamily extends FamilyBase {
  readonly kind: 'histogram';
  collect(): HistogramSample[];
}

export type Family = ValueFamily | HistogramFamily;

/** OpenTelemetry's Prometheus naming: dots to underscores, `_seconds` for unit s, `_total` for counters. */
export function promName(family: Family): string {
  const base = family.name.replaceAll('.', '_');
  const unit = family.unit === 's' ? '_seconds' : '';
  const total = family.kind === 'counter' ? '_total' : '';
  return `${base}${unit}${total}`;
}

export function promLabel(attribute: string): string {
  return attribute.replaceAll('.', '_');
}
