// What one side (one client) of one scenario did, measured from the application's point of view: an op
// is one read or write as the app's code sees it (for pg, one `pool.query`), including whatever retries
// the client does inside.

import { execAttemptChannel } from '../core/channels.js';
import type { AttemptTrace } from '../exec/index.js';
import type { PoolStats } from '../pool/index.js';
import type { PoolSample } from './driver.js';

export type OpKind = 'read' | 'write';

export interface ErrorCount {
  message: string;
  count: number;
}

export interface SideResult {
  ok: number;
  /** Ops that rejected: what the application saw. */
  errors: number;
  readErrors: number;
  writeErrors: number;
  /** Distinct error messages (addresses normalised), most frequent first. */
  errorMessages: ErrorCount[];
  /** Ops still pending well after the scenario's load stopped: a request that would hang forever. */
  hung: number;
  latencyMs: { p50: number; p99: number; max: number };
  /**
   * From the last fault action (the heal, for an outage; the last burst, for repeated ones) to the moment
   * throughput is back at half its pre-fault level with no error after it (see recoveryMs); null: never.
   */
  recoveryMs: number | null;
  /** Writes acknowledged to the application that are not in the table. */
  lostWrites: number;
  /** Ids written more than once (a retry re-applied a write that had in fact committed). */
  doubledWrites: number;
  /** 'error' events with no handler of the app's own: each one would have crashed a process without a listener. */
  uncaughtErrorEvents: number;
  /**
   * Per bucket (by the time an op ended): ops that succeeded, ops that failed, and the time ops took to
   * finish, median and longest (ms, 0 for a bucket where none ended).
   */
  series: { ok: number[]; errors: number[]; latencyP50Ms: number[]; latencyMaxMs: number[] };
  /** The driver's extra figures (DriverLabels.extraFigures), by key; empty when it has none. */
  extras: Record<string, number>;
  /** The side's connections over time (Side.poolSample); absent for a side that reports none. */
  pool?: PoolSeries;
}

/**
 * A side's connections sampled every `sampleMs` while the load ran: index i is the reading at
 * `atMs[i]` (ms from the start). `deaths` and `retries` are running totals (never decreasing).
 */
export interface PoolSeries {
  sampleMs: number;
  atMs: number[];
  used: number[];
  idle: number[];
  pending: number[];
  /** Connections ended so far, one series per cause (0 before a cause's first). */
  deaths: Record<string, number[]>;
  retries: number[];
}

/** Collects a side's pool samples into a PoolSeries. */
export class PoolRecorder {
  private readonly series: PoolSeries;

  constructor(sampleMs: number) {
    this.series = { sampleMs, atMs: [], used: [], idle: [], pending: [], deaths: {}, retries: [] };
  }

  /** Reads `sample()` at `atMs`; a sample that throws (a client already ending) is skipped. */
  record(atMs: number, sample: () => PoolSample): void {
    let s: PoolSample;
    try {
      s = sample();
    } catch {
      return;
    }
    const series = this.series;
    const index = series.atMs.length;
    series.atMs.push(Math.round(atMs));
    series.used.push(s.used);
    series.idle.push(s.idle);
    series.pending.push(s.pending);
    series.retries.push(s.retries);
    for (const [cause, count] of Object.entries(s.deaths)) {
      if (count > 0 && series.deaths[cause] === undefined) series.deaths[cause] = new Array(index).fill(0);
    }
    for (const [cause, values] of Object.entries(series.deaths)) values.push(s.deaths[cause] ?? 0);
  }

  result(): PoolSeries {
    return this.series;
  }
}

interface OpRecord {
  kind: OpKind;
  startMs: number;
  endMs: number;
  error: string | undefined;
}

export interface OpHandle {
  ok(): void;
  fail(error: unknown): void;
}

/** The longest error message the demo keeps (the report and the terminal show it whole). */
export const MESSAGE_MAX = 240;

/**
 * `text` in at most `max` characters, never cut inside a word: whole sentences when the first one fits
 * (a message's first sentence says what happened), else whole words and an ellipsis.
 */
export function shorten(text: string, max = MESSAGE_MAX): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max + 1);
  let sentenceEnd = -1;
  for (const m of head.matchAll(/[.!?](?=\s)/g)) sentenceEnd = m.index;
  if (sentenceEnd >= max / 3) return text.slice(0, sentenceEnd + 1);
  const wordEnd = text.lastIndexOf(' ', max - 1);
  const cut = wordEnd > 0 ? text.slice(0, wordEnd) : text.slice(0, max - 1);
  return `${cut.replace(/[\s,;:(\-–—]+$/, '')}…`;
}

/**
 * The message one failed op is counted under: its error's code first when the message does not already
 * carry it (so a shortened message still says exactly what failed), addresses, ports and long numbers
 * replaced (they differ between runs; without this every refused connect is its own message), shortened.
 */
export function normaliseMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const coded = typeof code === 'string' && code !== '' && !raw.includes(code) ? `${code}: ${raw}` : raw;
  return shorten(
    coded.replace(/\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b/g, '<host:port>').replace(/\b\d{4,}\b/g, 'N'),
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

export class Recorder {
  private readonly done: OpRecord[] = [];
  private readonly inFlight = new Set<{ kind: OpKind; startMs: number }>();
  private frozen = false;
  uncaughtErrorEvents = 0;
  /** Running totals for the progress display. */
  okSoFar = 0;
  errorsSoFar = 0;

  /** `t0`: the moment ops are measured from (performance.now()); startClock may set it later. */
  constructor(private t0: number = performance.now()) {}

  /** Measures from `t0` on: called once, before the first op, when the load's shared start is known. */
  startClock(t0: number): void {
    this.t0 = t0;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  begin(kind: OpKind): OpHandle {
    const entry = { kind, startMs: this.now() };
    this.inFlight.add(entry);
    const finish = (error: string | undefined): void => {
      if (this.frozen || !this.inFlight.delete(entry)) return;
      if (error === undefined) this.okSoFar++;
      else this.errorsSoFar++;
      this.done.push({ kind, startMs: entry.startMs, endMs: this.now(), error });
    };
    return { ok: () => finish(undefined), fail: (error) => finish(normaliseMessage(error)) };
  }

  /** Stops recording: whatever is still in flight from now on counts as hung, whatever settles later is ignored. */
  freeze(): void {
    this.frozen = true;
  }

  pending(): number {
    return this.inFlight.size;
  }

  summarise(args: {
    durationMs: number;
    bucketMs: number;
    /** When the fault actions happened, in ms from the start; empty: no fault. */
    faultTimesMs: readonly number[];
    lostWrites: number;
    doubledWrites: number;
    extras?: Readonly<Record<string, number>>;
    /** The side's pool samples, when it gives them. */
    pool?: PoolSeries;
  }): SideResult {
    const buckets = Math.ceil(args.durationMs / args.bucketMs);
    const okSeries = new Array<number>(buckets).fill(0);
    const errorSeries = new Array<number>(buckets).fill(0);
    const latencies: number[] = [];
    const perBucket: number[][] = Array.from({ length: buckets }, () => []);
    const messages = new Map<string, number>();
    let ok = 0;
    let readErrors = 0;
    let writeErrors = 0;
    for (const op of this.done) {
      const bucket = Math.min(buckets - 1, Math.floor(op.endMs / args.bucketMs));
      if (op.error === undefined) {
        ok++;
        okSeries[bucket] = (okSeries[bucket] ?? 0) + 1;
      } else {
        if (op.kind === 'read') readErrors++;
        else writeErrors++;
        errorSeries[bucket] = (errorSeries[bucket] ?? 0) + 1;
        messages.set(op.error, (messages.get(op.error) ?? 0) + 1);
      }
      latencies.push(op.endMs - op.startMs);
      perBucket[bucket]?.push(op.endMs - op.startMs);
    }
    for (const values of perBucket) values.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    return {
      ok,
      errors: readErrors + writeErrors,
      readErrors,
      writeErrors,
      errorMessages: [...messages]
        .map(([message, count]) => ({ message, count }))
        .sort((a, b) => b.count - a.count || a.message.localeCompare(b.message)),
      hung: this.inFlight.size,
      latencyMs: {
        p50: Math.round(percentile(latencies, 50)),
        p99: Math.round(percentile(latencies, 99)),
        max: Math.round(latencies.at(-1) ?? 0),
      },
      recoveryMs: recoveryMs(this.done, {
        windowMs: args.bucketMs,
        durationMs: args.durationMs,
        faultTimesMs: args.faultTimesMs,
        hung: this.inFlight.size,
      }),
      lostWrites: args.lostWrites,
      doubledWrites: args.doubledWrites,
      uncaughtErrorEvents: this.uncaughtErrorEvents,
      series: {
        ok: okSeries,
        errors: errorSeries,
        latencyP50Ms: perBucket.map((values) => Math.round(percentile(values, 50))),
        latencyMaxMs: perBucket.map((values) => Math.round(values.at(-1) ?? 0)),
      },
      extras: { ...args.extras },
      ...(args.pool === undefined ? {} : { pool: args.pool }),
    };
  }
}

/**
 * Recovery, from the ops themselves rather than from chart buckets (a bucket's edge would round the figure
 * up by as much as a bucket, and by a whole one more when the fault action lands a millisecond past an
 * edge). The pre-fault throughput is the ok ops per ms between the end of the first bucket (warm-up) and
 * the first fault action; "back" is the first moment, after the last fault action and after the last
 * error, from which the next `windowMs` hold at least half that many ok ops, all before the load stopped.
 * Measured from the last fault action. A side with ops hung at the end never recovered.
 */
export function recoveryMs(
  ops: readonly { endMs: number; error: string | undefined }[],
  args: { windowMs: number; durationMs: number; faultTimesMs: readonly number[]; hung: number },
): number | null {
  const { windowMs, durationMs, faultTimesMs } = args;
  const first = faultTimesMs[0];
  const last = faultTimesMs.at(-1);
  if (first === undefined || last === undefined || args.hung > 0) return null;
  const baselineFrom = first > windowMs ? windowMs : 0;
  let before = 0;
  let from = last;
  for (const op of ops) {
    if (op.error !== undefined) from = Math.max(from, op.endMs);
    else if (op.endMs >= baselineFrom && op.endMs < first) before++;
  }
  const perWindow = first > baselineFrom ? (before * windowMs) / (first - baselineFrom) : 1;
  const needed = Math.max(1, Math.ceil(perWindow / 2));
  const ends = ops
    .filter((op) => op.error === undefined && op.endMs > from && op.endMs <= durationMs)
    .map((op) => op.endMs)
    .sort((a, b) => a - b);
  for (let i = 0; i + needed - 1 < ends.length; i++) {
    const start = ends[i] as number;
    if ((ends[i + needed - 1] as number) - start <= windowMs) return Math.max(0, Math.round(start - last));
  }
  return null;
}

/** A connection death's cause for the pool charts: the error's code, else its message, short. */
export function deathCause(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return shorten(error instanceof Error ? error.message : String(error), 40);
}

/** Counts by cause, for a side's PoolSample.deaths. */
export class CauseCounts {
  readonly counts: Record<string, number> = {};

  add(cause: string): void {
    this.counts[cause] = (this.counts[cause] ?? 0) + 1;
  }
}

/**
 * Counts the retries lifeline's exec makes anywhere in this process (attempts after the first, hedges
 * aside), from its diagnostics channel: in a demo scenario only the lifeline side runs through exec, so
 * they are that side's. `stop()` unsubscribes.
 */
export function countExecRetries(): { readonly count: number; stop(): void } {
  const onStart = (message: unknown): void => {
    const trace = message as AttemptTrace;
    if (trace.attempt > 1 && !trace.hedge) counter.count++;
  };
  const counter = {
    count: 0,
    stop: () => execAttemptChannel.start.unsubscribe(onStart),
  };
  execAttemptChannel.start.subscribe(onStart);
  return counter;
}

/** A lifeline pool's stats as a PoolSample: its evictions are its deaths (the drain at close aside). */
export function poolSample(stats: PoolStats, retries: number): PoolSample {
  const deaths: Record<string, number> = {};
  for (const [reason, count] of Object.entries(stats.evicted)) {
    if (count > 0 && reason !== 'drain' && reason !== 'drain-timeout') deaths[reason] = count;
  }
  return { used: stats.busy + stats.checking, idle: stats.idle, pending: stats.waiting, deaths, retries };
}
