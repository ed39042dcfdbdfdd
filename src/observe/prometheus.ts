// The Prometheus way out: lifeline's families as metrics of a prom-client registry the app passes in. No
// import of prom-client here: a registry takes any object with name, help, type, aggregator and get(), so
// lifeline-net loads nothing of it, and the app's own prom-client (15.x) is the one that serializes,
// and whose AggregatorRegistry sums the workers of a cluster (`aggregator: 'sum'`).
import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { SECONDS_BUCKETS } from './histogram.js';
import { type Attributes, type Family, promLabel, promName } from './model.js';

/** The part of prom-client's Registry lifeline uses. */
export interface PromRegistryLike {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
}

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface PromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  collect(): void;
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: PromValue[] }>;
  reset(): void;
}

/** A metric name is already registered in the app's registry (two LifelineMetrics, or a clash). */
export class MetricNameTakenError extends LifelineError {
  constructor(name: string, cause: unknown) {
    super(
      'METRIC_NAME_TAKEN',
      `the Prometheus registry already has a metric named ${name}: register lifeline's metrics once per registry (close() the previous LifelineMetrics first)`,
      { cause },
    );
  }
}
brand(MetricNameTakenError, 'MetricNameTakenError');

function labels(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) out[promLabel(key)] = value;
  return out;
}

function values(family: Family, name: string): PromValue[] {
  if (family.kind !== 'histogram') {
    return family.collect().map((s) => ({ value: s.value, labels: labels(s.attributes) }));
  }
  const out: PromValue[] = [];
  for (const { attributes, histogram } of family.collect()) {
    const base = labels(attributes);
    const cumulative = histogram.cumulative();
    cumulative.forEach((count, i) => {
      const le = i < SECONDS_BUCKETS.length ? String(SECONDS_BUCKETS[i]) : '+Inf';
      out.push({ value: count, labels: { ...base, le }, metricName: `${name}_bucket` });
    });
    out.push({ value: histogram.sumMs / 1000, labels: base, metricName: `${name}_sum` });
    out.push({ value: histogram.count, labels: base, metricName: `${name}_count` });
  }
  return out;
}

function toMetric(family: Family): PromMetric {
  const name = promName(family);
  const type = family.kind === 'histogram' ? 'histogram' : family.kind === 'counter' ? 'counter' : 'gauge';
  const help = family.description;
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    collect() {},
    reset() {},
    get: async () => ({ name, help, type, aggregator: 'sum', values: values(family, name) }),
  };
}

/** Registers every family; returns a function that removes them again. */
export function registerPrometheus(registry: PromRegistryLike, all: readonly Family[]): () => void {
  const done: string[] = [];
  const unregister = () => {
    for (const name of done.splice(0)) registry.removeSingleMetric(name);
  };
  for (const family of all) {
    const metric = toMetric(family);
    try {
      registry.registerMetric(metric as never);
    } catch (error) {
      unregister();
      throw new MetricNameTakenError(metric.name, error);
    }
    done.push(metric.name);
  }
  return unregister;
}
