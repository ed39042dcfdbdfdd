// Runs scenarios: for each, two fault proxies in front of one server, the naive client behind one and
// lifeline's behind the other, the same workload through both at the same time, the scenario's fault
// script applied to both proxies at the same moments. Everything a scenario starts, it stops. What the
// server and the clients are is the driver's business (src/demo/drivers/).

import { FaultProxy } from '../faults/index.js';
import type { DemoDriver, DemoTarget, DriverLabels, Side, SideName, SideOptions } from './driver.js';
import { DEFAULT_DRIVER, findDriver } from './drivers/index.js';
import { Recorder, type SideResult } from './metrics.js';
import { type FaultControl, findScenarios, type Scenario, TIMINGS, type Timing } from './scenarios.js';
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
  /** Which driver: a name in src/demo/drivers/index.ts (default 'pg'), or a driver already loaded. */
  driver?: string | DemoDriver;
  /** Run against this server instead of the driver's default one (for pg, the embedded PGlite). */
  url?: string;
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
  /** The driver's name ('pg'). */
  driver: string;
  /** The driver's names for the two sides and its workload, for the table and the report. */
  labels: DriverLabels;
  /** The server the run went against (no password). */
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

interface Running {
  name: SideName;
  recorder: Recorder;
  side: Side;
  load: Load;
}

async function runScenario(
  scenario: Scenario,
  index: number,
  context: { target: DemoTarget; timing: Timing; seed: number; runId: string; signal: AbortSignal },
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
        upstream: context.target.upstream,
        seed,
      });
      proxies.push(proxy);
      addresses.push(await proxy.start());
    }
    const sides: { name: SideName; recorder: Recorder; side: Side }[] = [];
    for (const [i, name] of SIDES.entries()) {
      const recorder = new Recorder();
      const options: SideOptions = {
        proxy: addresses[i] as { host: string; port: number },
        runId: scenarioRun,
        onErrorEvent: () => {
          recorder.uncaughtErrorEvents++;
        },
        poolSize: POOL_SIZE,
        queryDeadlineMs: timing.queryDeadlineMs,
        attemptDeadlineMs: timing.attemptDeadlineMs,
      };
      sides.push({ name, recorder, side: await context.target.side(name, options) });
    }
    // Loads start together, after both proxies and both sides are up, on one shared clock.
    const start = performance.now();
    for (const { name, recorder, side } of sides) {
      recorder.startClock(start);
      const load = startLoad(side.app, recorder, {
        kind: scenario.kind,
        workers: WORKERS,
        durationMs: timing.durationMs,
        maxOpsPerWorker: MAX_OPS_PER_WORKER,
        thinkMs: THINK_MS,
        seed,
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
        ? await context.target.auditWrites(scenarioRun, r.name, r.load.acknowledged)
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

/** The driver `option` names (default: pg), loaded. */
async function loadDriver(option: string | DemoDriver | undefined): Promise<DemoDriver> {
  if (typeof option === 'object') return option;
  return findDriver(option ?? DEFAULT_DRIVER).load();
}

/** Runs the demo. Never throws for an abort: returns what finished, with `aborted` set. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const driver = await loadDriver(options.driver);
  const scenarios = findScenarios(options.scenarios, driver.scenarios);
  const timing = options.quick ? TIMINGS.quick : TIMINGS.full;
  const seed = options.seed ?? 1;
  const signal = options.signal ?? new AbortController().signal;
  const onProgress = options.onProgress ?? (() => {});
  const startedAt = new Date();
  const began = performance.now();
  const runId = `${startedAt.getTime().toString(36)}-${process.pid}`;
  const results: ScenarioResult[] = [];
  let aborted = false;
  let target: DemoTarget | undefined;
  try {
    target = await driver.start({
      url: options.url,
      onProgress: (message) => onProgress({ type: 'database', message }),
    });
    onProgress({ type: 'database', message: `database ready: ${target.description}` });
    for (const [index, scenario] of scenarios.entries()) {
      if (signal.aborted) break;
      onProgress({ type: 'scenario', index, total: scenarios.length, scenario, timing });
      const result = await runScenario(scenario, index, { target, timing, seed, runId, signal }, onProgress);
      results.push(result);
      onProgress({ type: 'scenario-done', result });
    }
    await target.cleanup(runId);
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
  } finally {
    aborted = signal.aborted;
    await target?.stop();
  }
  return {
    mode: options.quick ? 'quick' : 'full',
    driver: driver.name,
    labels: driver.labels,
    database: target?.description ?? '',
    seed,
    startedAt: startedAt.toISOString(),
    elapsedMs: Math.round(performance.now() - began),
    aborted,
    scenarios: results,
  };
}
