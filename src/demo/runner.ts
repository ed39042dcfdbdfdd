// Runs scenarios: for each, two fault proxies in front of one server, the naive client behind one and
// lifeline's behind the other, the same workload through both at the same time, the scenario's fault
// script applied to both proxies at the same moments. Everything a scenario starts, it stops. What the
// server and the clients are is the driver's business (src/demo/drivers/).

import { FaultProxy } from '../faults/index.js';
import type { DemoDriver, DemoTarget, DriverLabels, Side, SideName, SideOptions } from './driver.js';
import { DEFAULT_DRIVER, findDriver } from './drivers/index.js';
import { PoolRecorder, Recorder, type SideResult } from './metrics.js';
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

interface SideRun {
  name: SideName;
  recorder: Recorder;
  side: Side;
  /** The side's connections every BUCKET_MS, when it reports them (Side.poolSample). */
  pool: PoolRecorder | undefined;
  /** Set by warmUp(). */
  load?: Load;
}

interface ScenarioContext {
  target: DemoTarget;
  timing: Timing;
  seed: number;
  runId: string;
  signal: AbortSignal;
}

/**
 * One scenario, phase by phase: start, warmUp, fault, observe, settle, then close (always) and tally.
 * close() undoes whatever the phases got to, however far that was.
 */
class ScenarioRun {
  /** Aborted by the run's signal, and at the end of the scenario so a still-running script stops. */
  private readonly local = new AbortController();
  private readonly stopLocal = (): void => this.local.abort();
  private readonly proxies: FaultProxy[] = [];
  private readonly sides: SideRun[] = [];
  private readonly faultTimesMs: number[] = [];
  private readonly seed: number;
  /** Tags this scenario's writes on the server. */
  private readonly runId: string;
  /** The loads' shared clock: performance.now() when they started. */
  private t0 = 0;
  private script: Promise<void> = Promise.resolve();
  private scriptError: unknown;
  private ticker: NodeJS.Timeout | undefined;
  /** Pool samples are taken from the loads' start to the end of observe() (not while settling). */
  private sampling = true;

  constructor(
    private readonly scenario: Scenario,
    index: number,
    private readonly context: ScenarioContext,
    private readonly onProgress: (event: ProgressEvent) => void,
  ) {
    this.seed = context.seed + index * 7919;
    this.runId = `${context.runId}-${scenario.name}`;
    context.signal.addEventListener('abort', this.stopLocal, { once: true });
  }

  /** Start: a fault proxy per side in front of the server, and each side's client behind its own proxy. */
  async start(): Promise<void> {
    const { target, timing } = this.context;
    for (const name of SIDES) {
      const proxy = new FaultProxy({ listen: '127.0.0.1:0', upstream: target.upstream, seed: this.seed });
      this.proxies.push(proxy);
      const address = await proxy.start();
      const recorder = new Recorder();
      const options: SideOptions = {
        proxy: address,
        runId: this.runId,
        onErrorEvent: () => {
          recorder.uncaughtErrorEvents++;
        },
        poolSize: POOL_SIZE,
        queryDeadlineMs: timing.queryDeadlineMs,
        attemptDeadlineMs: timing.attemptDeadlineMs,
      };
      const side = await target.side(name, options);
      const pool = side.poolSample === undefined ? undefined : new PoolRecorder(BUCKET_MS);
      this.sides.push({ name, recorder, side, pool });
    }
  }

  /**
   * Warm-up: both loads start together, once both proxies and both clients are up, on one shared clock.
   * Until the fault, each side's ops make its pre-fault throughput (what "recovered" is measured against).
   */
  warmUp(): void {
    this.t0 = performance.now();
    for (const s of this.sides) {
      s.recorder.startClock(this.t0);
      s.load = startLoad(s.side.app, s.recorder, {
        kind: this.scenario.kind,
        workers: WORKERS,
        durationMs: this.context.timing.durationMs,
        maxOpsPerWorker: MAX_OPS_PER_WORKER,
        thinkMs: THINK_MS,
        seed: this.seed,
      });
    }
    this.samplePools();
  }

  /** One reading of each side's connections, at the loads' clock. */
  private samplePools(): void {
    if (!this.sampling) return;
    const atMs = performance.now() - this.t0;
    for (const s of this.sides) {
      const sample = s.side.poolSample;
      if (s.pool !== undefined && sample !== undefined) s.pool.record(atMs, () => sample.call(s.side));
    }
  }

  /** Fault: the scenario's script runs alongside the loads, acting on both proxies at the same moments. */
  fault(): void {
    const act = async (action: (proxy: FaultControl) => unknown): Promise<void> => {
      await Promise.all(this.proxies.map(async (p: FaultControl) => action(p)));
    };
    this.script = this.scenario
      .script({
        timing: this.context.timing,
        at: (ms) => sleep(this.t0 + ms - performance.now(), this.local.signal),
        all: async (action) => {
          this.faultTimesMs.push(Math.round(performance.now() - this.t0));
          await act(action);
        },
        prepare: act,
      })
      .catch((error: unknown) => {
        // Kept, not rethrown: a rejection nobody awaits yet would be an unhandled rejection.
        if (!(error instanceof Aborted)) this.scriptError = error;
      });
  }

  /** Observe: the load's whole duration, with the live counts and the pool samples every BUCKET_MS. */
  async observe(): Promise<void> {
    const { scenario, t0 } = this;
    const totalMs = this.context.timing.durationMs;
    this.ticker = setInterval(() => {
      this.samplePools();
      const sides = Object.fromEntries(
        this.sides.map((s) => [
          s.name,
          { ok: s.recorder.okSoFar, errors: s.recorder.errorsSoFar, pending: s.recorder.pending() },
        ]),
      ) as Record<SideName, LiveCounts>;
      this.onProgress({ type: 'tick', scenario, elapsedMs: performance.now() - t0, totalMs, sides });
    }, BUCKET_MS);
    await sleep(totalMs, this.context.signal);
    this.samplePools();
    this.sampling = false;
  }

  /**
   * Settle: no new ops. A side that promises every op an end (a deadline) is given until that end; one that
   * promises nothing gets the grace period. Whatever is still pending then is hung. Then the script ends.
   */
  async settle(): Promise<void> {
    const { timing, signal } = this.context;
    for (const s of this.sides) s.load?.stop();
    await Promise.all(
      this.sides.map(async (s) => {
        const waitMs = s.side.maxOpMs === undefined ? timing.graceMs : s.side.maxOpMs + SETTLE_MARGIN_MS;
        await Promise.race([s.load?.finished, sleep(waitMs, signal)]);
        s.recorder.freeze();
      }),
    );
    this.local.abort();
    await this.script;
    if (this.scriptError !== undefined) throw this.scriptError;
  }

  /** Teardown, whatever happened: every load, the script, the proxies and the clients end, each bounded. */
  async close(): Promise<void> {
    // On an abort the loads are still issuing ops: stop them before their clients go away.
    for (const s of this.sides) s.load?.stop();
    clearInterval(this.ticker);
    this.local.abort();
    this.context.signal.removeEventListener('abort', this.stopLocal);
    await within(this.script, 1000);
    // Stopping the proxies closes every connection, which unblocks whatever the clients still wait for.
    await Promise.allSettled(this.proxies.map((p) => p.stop()));
    await Promise.all(this.sides.map((s) => within(s.side.close(), 2000)));
  }

  /** Tally: writes audited on the server itself, each side's figures summarised. */
  async tally(): Promise<ScenarioResult> {
    const { scenario, faultTimesMs } = this;
    const { target, timing } = this.context;
    const results = {} as Record<SideName, SideResult>;
    for (const s of this.sides) {
      const audit =
        scenario.kind === 'write' && s.load
          ? await target.auditWrites(this.runId, s.name, s.load.acknowledged)
          : { lost: 0, doubled: 0 };
      results[s.name] = s.recorder.summarise({
        durationMs: timing.durationMs,
        bucketMs: BUCKET_MS,
        faultTimesMs,
        lostWrites: audit.lost,
        doubledWrites: audit.doubled,
        extras: s.side.figures?.(),
        pool: s.pool?.result(),
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
}

async function runScenario(
  scenario: Scenario,
  index: number,
  context: ScenarioContext,
  onProgress: (event: ProgressEvent) => void,
): Promise<ScenarioResult> {
  const run = new ScenarioRun(scenario, index, context, onProgress);
  try {
    await run.start();
    run.warmUp();
    run.fault();
    await run.observe();
    await run.settle();
  } finally {
    await run.close();
  }
  return run.tally();
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
