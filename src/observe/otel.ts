// The OpenTelemetry way out: lifeline's families as instruments of a Meter the app passes in (from
// `@opentelemetry/api`'s metrics.getMeter). Typed structurally, so lifeline-net imports nothing of OpenTelemetry.
// Counts and gauges are observable instruments read at collection. Histograms (OpenTelemetry has no observable
// one) get their raw values from a bounded buffer each Histogram keeps: handed over at each collection, or at
// once when 1024 values are waiting, so the hot path never calls into the SDK.
import type { Histogram } from './histogram.js';
import type { Attributes, Family, HistogramFamily, ValueFamily } from './model.js';

export interface ObservableResultLike {
  observe(value: number, attributes?: Attributes): void;
}

export interface ObservableLike {
  addCallback(callback: (result: ObservableResultLike) => void): void;
  removeCallback(callback: (result: ObservableResultLike) => void): void;
}

export interface HistogramLike {
  record(value: number, attributes?: Attributes): void;
}

interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/** The part of `@opentelemetry/api`'s Meter lifeline uses. */
export interface MeterLike {
  createObservableUpDownCounter(name: string, options?: InstrumentOptions): ObservableLike;
  createObservableCounter(name: string, options?: InstrumentOptions): ObservableLike;
  createObservableGauge(name: string, options?: InstrumentOptions): ObservableLike;
  createHistogram(name: string, options?: InstrumentOptions): HistogramLike;
}

export interface OtelRegistration {
  /** Makes every histogram the families hold now keep raw values for its instrument. */
  sync(): void;
  close(): void;
}

function observable(meter: MeterLike, family: ValueFamily): ObservableLike {
  const options = { description: family.description, unit: family.unit };
  if (family.kind === 'counter') return meter.createObservableCounter(family.name, options);
  if (family.kind === 'gauge') return meter.createObservableGauge(family.name, options);
  return meter.createObservableUpDownCounter(family.name, options);
}

export function registerOtel(
  meter: MeterLike,
  all: readonly Family[],
  buckets: readonly number[],
): OtelRegistration {
  const histograms = all.filter((f): f is HistogramFamily => f.kind === 'histogram');
  const instruments = new Map<HistogramFamily, HistogramLike>();
  for (const family of histograms) {
    instruments.set(
      family,
      meter.createHistogram(family.name, {
        description: family.description,
        unit: family.unit,
        advice: { explicitBucketBoundaries: [...buckets] },
      }),
    );
  }
  const tracked = new WeakSet<Histogram>();
  const sync = (): void => {
    for (const family of histograms) {
      const instrument = instruments.get(family) as HistogramLike;
      for (const { attributes, histogram } of family.collect()) {
        if (tracked.has(histogram)) continue;
        tracked.add(histogram);
        histogram.keepRaw((raw, n) => {
          for (let i = 0; i < n; i++) instrument.record(raw[i] as number, attributes);
        });
      }
    }
  };
  const drain = (): void => {
    sync();
    for (const family of histograms) for (const { histogram } of family.collect()) histogram.drain();
  };
  const callbacks: Array<[ObservableLike, (result: ObservableResultLike) => void]> = [];
  let first = true;
  for (const family of all) {
    if (family.kind === 'histogram') continue;
    const instrument = observable(meter, family);
    // The first observable callback of a collection also hands the histograms' buffered values over.
    const drains = first;
    first = false;
    const callback = (result: ObservableResultLike): void => {
      if (drains) drain();
      for (const { attributes, value } of family.collect()) result.observe(value, attributes);
    };
    instrument.addCallback(callback);
    callbacks.push([instrument, callback]);
  }
  sync();
  return {
    sync,
    close() {
      for (const [instrument, callback] of callbacks) instrument.removeCallback(callback);
      drain();
    },
  };
}
