// Runs scenarios: for each, two fault proxies in front of one database, the naive pool behind one and
// lifeline's behind the other, the same workload through both at the same time, the scenario's fault
// script applied to both proxies at the same moments. Everything a scenario starts, it stops.

import { redact } from '../core/errors.js';
import { FaultProxy } from '../faults/index.js';
import { auditWrites, cleanupWrites, prepareDatabase, warmUp } from './database.js';
import { startEmbeddedPostgres } from './embedded.js';
import { Recorder, type SideResult } from './metrics.js';
import { type FaultControl, findScenarios, type Scenario, TIMINGS, type Timing } from './scenarios.js';
import { lifelineSide, naiveSide, type Side, type SideName, type SideOptions } from './sides.js';
import { type Load, startLoad } from './workload.js';

export const BUCKET_MS = 250;
const SIDES: readonly SideName[] = ['naive', 'lifeline'];
const WORKERS = 6;
const POOL_SIZE = 4;
const THINK_MS = 10;
const MAX_OPS_PER_WORKER = 5000;
// Timers and the event loop under load: an op that ends this close to its deadline ended by it.
const SETTLE_MARGIN_MS = 1000;

export interface DemoOptions {
  quick?: boolean;
  /** Run against this server instead of the embedded PGlite. */
  databaseUrl?: string;
  scenarios?: readonly string[];
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export interface ScenarioResult {
  name: string;
  title: string;
  incident: string;
  fault: string;
  kind: 'read' | 'write';
  durationMs: number;
  /** When the fault actions happened, in ms from the start (empty for the baseline). */
  faultTimesMs: number[];
  bucketMs: number;
  naive: SideResult;
  lifeline: SideResult;
}

export interface DemoResult {
  mode: 'quick' | 'full';
  database: string;
  seed: number;
  startedAt: string;
  elapsedMs: number;
  /** True when the run was interrupted: `scenarios` holds those that finished. */
  aborted: boolean;
  scenarios: ScenarioResult[];
}

export type ProgressEvent =
  | { type: 'database'; message: string }
  | { type: 'scenario'; index: number; total: number; scenario: Scenario; timing: Timing }
  | {
      type: 'tick';
      scenario: Scenario;
      elapsedMs: number;
      totalMs: number;
      sides: Record<SideName, LiveCounts>;
    }
  | { type: 'scenario-done'; result: ScenarioResult };

export interface LiveCounts {
  ok: number;
  errors: number;
  pending: number;
}

class Aborted extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Codes that mean nothing answered at the address: the server is down, or the URL is wrong. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

/** Why the demo cannot use the database at `url` (already redacted), and what to do about it. */
function databaseProblem(url: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const timedOut = /timeout/i.test(message);
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || timedOut) {
    return (
      `the database at ${url} is unreachable (${timedOut ? 'no answer within 10 s' : code}: ${message}). ` +
      'Check that it is running and that --database-url is right, or leave --database-url out to use the embedded Postgres'
    );
  }
  return `cannot use the database at ${url}: ${message}`;
}

function throughProxy(databaseUrl: string, address: { host: string; port: number }): string {
  const url = new URL(databaseUrl);
  url.hostname = address.host;
  url.port = String(address.port);
  return url.toString();
}

function upstreamOf(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || '5432'}`;
}

interface Running {
  name: SideName;
  recorder: Recorder;
  side: Side;
  load: Load;
}

async function runScenario(
  scenario: Scenario,
  index: number,
  context: { databaseUrl: string; timing: Timing; seed: number; runId: string; signal: AbortSignal },
  onProgress: (event: ProgressEvent) => void,
): Promise<ScenarioResult> {
  const { timing, signal } = context;
  // Aborted by the run's signal, and at the end of the scenario so a still-running script stops.
  const local = new AbortController();
  const stopLocal = (): void => local.abort();
  signal.addEventListener('abort', stopLocal, { once: true });
  const running: Running[] = [];
  const proxies: FaultProxy[] = [];
  const faultTimesMs: number[] = [];
  let script: Promise<void> = Promise.resolve();
  let scriptError: unknown;
  let ticker: NodeJS.Timeout | undefined;
  const seed = context.seed + index * 7919;
  const scenarioRun = `${context.runId}-${scenario.name}`;
  try {
    const addresses: { host: string; port: number }[] = [];
    for (const _ of SIDES) {
      const proxy = new FaultProxy({
        listen: '127.0.0.1:0',
        upstream: upstreamOf(context.databaseUrl),
        seed,
      });
      proxies.push(proxy);
      addresses.push(await proxy.start());
    }
    // Loads start together, after both proxies are up, on one shared clock.
    const start = performance.now();
    for (const [i, name] of SIDES.entries()) {
      const recorder = new Recorder(start);
      const options: SideOptions = {
        url: throughProxy(context.databaseUrl, addresses[i] as { host: string; port: number }),
        recorder,
        poolSize: POOL_SIZE,
        queryDeadlineMs: timing.queryDeadlineMs,
        attemptDeadlineMs: timing.attemptDeadlineMs,
      };
      const side = name === 'naive' ? naiveSide(options) : lifelineSide(options);
      const load = startLoad(side.app, recorder, {
        kind: scenario.kind,
        workers: WORKERS,
        durationMs: timing.durationMs,
        maxOpsPerWorker: MAX_OPS_PER_WORKER,
        thinkMs: THINK_MS,
        seed,
        runId: scenarioRun,
        side: name,
      });
      running.push({ name, recorder, side, load });
    }
    script = scenario
      .script({
        timing,
        at: (ms) => sleep(start + ms - performance.now(), local.signal),
        all: async (action) => {
          faultTimesMs.push(Math.round(performance.now() - start));
          await Promise.all(proxies.map(async (p: FaultControl) => action(p)));
        },
        prepare: async (action) => {
          await Promise.all(proxies.map(async (p: FaultControl) => action(p)));
        },
      })
      .catch((error: unknown) => {
        // Kept, not rethrown: a rejection nobody awaits yet would be an unhandled rejection.
        if (!(error instanceof Aborted)) scriptError = error;
      });
    const totalMs = timing.durationMs;
    ticker = setInterval(() => {
      const sides = Object.fromEntries(
        running.map((r) => [
          r.name,
          { ok: r.recorder.okSoFar, errors: r.recorder.errorsSoFar, pending: r.recorder.pending() },
        ]),
      ) as Record<SideName, LiveCounts>;
      onProgress({ type: 'tick', scenario, elapsedMs: performance.now() - start, totalMs, sides });
    }, 250);
    await sleep(timing.durationMs, signal);
    for (const r of running) r.load.stop();
    // A side that promises every op an end (a deadline) is given until that end; one that promises
    // nothing gets the grace period. Whatever is still pending then is hung.
    await Promise.all(
      running.map(async (r) => {
        const waitMs = r.side.maxOpMs === undefined ? timing.graceMs : r.side.maxOpMs + SETTLE_MARGIN_MS;
        await Promise.race([r.load.finished, sleep(waitMs, signal)]);
        r.recorder.freeze();
      }),
    );
    local.abort();
    await script;
    if (scriptError !== undefined) throw scriptError;
  } finally {
    // On an abort the loads are still issuing ops: stop them before their pools go away.
    for (const r of running) r.load.stop();
    clearInterval(ticker);
    local.abort();
    signal.removeEventListener('abort', stopLocal);
    await within(script, 1000);
    // Stopping the proxies closes every connection, which unblocks whatever the pools still wait for.
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await Promise.all(running.map((r) => within(r.side.close(), 2000)));
  }
  const results = {} as Record<SideName, SideResult>;
  for (const r of running) {
    const audit =
      scenario.kind === 'write'
        ? await auditWrites(context.databaseUrl, scenarioRun, r.name, r.load.acknowledged)
        : { lost: 0, doubled: 0 };
    results[r.name] = r.recorder.summarise({
      durationMs: timing.durationMs,
      bucketMs: BUCKET_MS,
      faultTimesMs,
      lostWrites: audit.lost,
      doubledWrites: audit.doubled,
    });
  }
  return {
    name: scenario.name,
    title: scenario.title,
    incident: scenario.incident,
    fault: scenario.fault,
    kind: scenario.kind,
    durationMs: timing.durationMs,
    faultTimesMs,
    bucketMs: BUCKET_MS,
    naive: results.naive,
    lifeline: results.lifeline,
  };
}

/** Runs the demo. Never throws for an abort: returns what finished, with `aborted` set. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const scenarios = findScenarios(options.scenarios);
  const timing = options.quick ? TIMINGS.quick : TIMINGS.full;
  const seed = options.seed ?? 1;
  const signal = options.signal ?? new AbortController().signal;
  const onProgress = options.onProgress ?? (() => {});
  const startedAt = new Date();
  const began = performance.now();
  const runId = `${startedAt.getTime().toString(36)}-${process.pid}`;
  const results: ScenarioResult[] = [];
  let aborted = false;
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  let databaseUrl = options.databaseUrl;
  let database = databaseUrl === undefined ? '' : redact(databaseUrl);
  try {
    if (databaseUrl === undefined) {
      onProgress({ type: 'database', message: 'starting embedded Postgres (PGlite over TCP)…' });
      embedded = await startEmbeddedPostgres();
      databaseUrl = embedded.url;
      database = 'embedded PGlite over TCP (@electric-sql/pglite-socket)';
    }
    try {
      await prepareDatabase(databaseUrl);
      await warmUp(databaseUrl);
    } catch (error) {
      throw new Error(databaseProblem(redact(databaseUrl), error), { cause: error });
    }
    onProgress({ type: 'database', message: `database ready: ${database}` });
    for (const [index, scenario] of scenarios.entries()) {
      if (signal.aborted) break;
      onProgress({ type: 'scenario', index, total: scenarios.length, scenario, timing });
      const result = await runScenario(
        scenario,
        index,
        { databaseUrl, timing, seed, runId, signal },
        onProgress,
      );
      results.push(result);
      onProgress({ type: 'scenario-done', result });
    }
    if (options.databaseUrl !== undefined) await cleanupWrites(databaseUrl, runId);
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
  } finally {
    aborted = signal.aborted;
    await embedded?.stop();
  }
  return {
    mode: options.quick ? 'quick' : 'full',
    database,
    seed,
    startedAt: startedAt.toISOString(),
    elapsedMs: Math.round(performance.now() - began),
    aborted,
    scenarios: results,
  };
}
