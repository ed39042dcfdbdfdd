// A histogram aggregated in place: fixed bucket bounds, one array increment per observation, so a pool can
// feed it on every acquire and release (bench/observe.ts measures it). Exporters read it at collection time;
// OpenTelemetry, whose histograms take raw values, drains a bounded buffer of them (see otel.ts).

/** Bucket upper bounds in seconds: 1 ms … 60 s, as Prometheus and OpenTelemetry dashboards expect. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
// The same bounds in ms: observations arrive in ms (the pool's clock) and are compared without a division.
const MS_BOUNDS = SECONDS_BUCKETS.map((s) => s * 1000);
const RAW_CAPACITY = 1024;

/** Receives the raw values (seconds) a histogram has buffered. */
export type RawSink = (seconds: Float64Array, count: number) => void;

export class Histogram {
  /** Non-cumulative counts per bucket; the last one is +Inf. */
  readonly counts = new Float64Array(MS_BOUNDS.length + 1);
  sumMs = 0;
  count = 0;
  private raw: Float64Array | undefined = undefined;
  private rawLength = 0;
  private sink: RawSink | undefined = undefined;

  observe(ms: number): void {
    let i = 0;
    while (i < MS_BOUNDS.length && ms > (MS_BOUNDS[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sumMs += ms;
    this.count++;
    const raw = this.raw;
    if (raw !== undefined) {
      raw[this.rawLength++] = ms / 1000;
      if (this.rawLength === RAW_CAPACITY) this.drain();
    }
  }

  /** `n` observations of `ms` at once (raw values too, for OpenTelemetry). */
  observeMany(ms: number, n: number): void {
    if (this.raw === undefined) {
      let i = 0;
      while (i < MS_BOUNDS.length && ms > (MS_BOUNDS[i] as number)) i++;
      this.counts[i] = (this.counts[i] as number) + n;
      this.sumMs += ms * n;
      this.count += n;
      return;
    }
    for (let k = 0; k < n; k++) this.observe(ms);
  }

  /** Also keeps raw values for `sink`, handed over by drain() or when the buffer fills. */
  keepRaw(sink: RawSink): void {
    this.sink = sink;
    this.raw ??= new Float64Array(RAW_CAPACITY);
  }

  drain(): void {
    if (this.sink !== undefined && this.raw !== undefined && this.rawLength > 0) {
      const n = this.rawLength;
      this.rawLength = 0;
      this.sink(this.raw, n);
    }
  }

  /** Cumulative counts per bound, as Prometheus' `le` buckets (the last is +Inf = count). */
  cumulative(): number[] {
    const out: number[] = [];
    let running = 0;
    for (const c of this.counts) {
      running += c;
      out.push(running);
    }
    return out;
  }
}
