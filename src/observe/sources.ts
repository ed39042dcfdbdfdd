// Where lifeline's numbers come from: a pool's stats() and duration hook, and the process-wide channels
// (socket deaths, exec attempts). Each source turns into metric families (model.ts); families.ts names them.
import {
  type DisagreementMessage,
  driverDisagreementChannel,
  execAttemptChannel,
  socketDeathChannel,
  type VerdictMessage,
  verifyVerdictChannel,
} from '../core/channels.js';
import type { AttemptTrace } from '../exec/index.js';
import { type Pool, type PoolObserver, setPoolObserver } from '../pool/index.js';
import type { DeathMessage } from '../socket/index.js';
import { Histogram } from './histogram.js';
import { type HostSource, type RoutedStatsLike, routedStatsOf } from './hosts.js';

/** One instrumented pool: its stats are read at collection, its durations aggregated as they happen. */
export class PoolSource implements PoolObserver, HostSource {
  readonly wait = new Histogram();
  readonly use = new Histogram();
  readonly create = new Histogram();

  /** stats().acquired and .released when attached: the sub-ms waits and uses are counted from there. */
  private acquiredBefore = 0;
  private releasedBefore = 0;

  constructor(
    readonly name: string,
    readonly pool: Pool<unknown>,
    /** What the app passed to pool(): an adapter pool, or the core Pool itself. */
    readonly facade: object = pool,
  ) {}

  /** The adapter pool's per-host routing stats (lifeline-net/pg with replicas), else undefined. */
  routed(): RoutedStatsLike | undefined {
    return this.facade === this.pool ? undefined : routedStatsOf(this.facade);
  }

  /** The wait histogram, with the sub-ms waits the pool does not report (observer.ts) added in. */
  waits(): Histogram {
    const zeros = this.pool.stats().acquired - this.acquiredBefore - this.wait.count;
    if (zeros > 0) this.wait.observeMany(0, zeros);
    return this.wait;
  }

  /** The use histogram, with the sub-ms uses the pool does not report added in. */
  uses(): Histogram {
    const zeros = this.pool.stats().released - this.releasedBefore - this.use.count;
    if (zeros > 0) this.use.observeMany(0, zeros);
    return this.use;
  }

  waited(ms: number): void {
    this.wait.observe(ms);
  }

  used(ms: number): void {
    this.use.observe(ms);
  }

  created(ms: number): void {
    this.create.observe(ms);
  }

  attach(): void {
    const stats = this.pool.stats();
    this.acquiredBefore = stats.acquired;
    this.releasedBefore = stats.released;
    setPoolObserver(this.pool, this);
  }

  detach(): void {
    setPoolObserver(this.pool, undefined);
  }
}

/** Counts by a key, for labelled counters. */
export class Counts {
  readonly byKey = new Map<string, number>();

  add(key: string, n = 1): void {
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + n);
  }
}

/** Socket deaths and exec attempt outcomes of the whole process, from diagnostics_channel. */
export class ChannelSource {
  readonly deaths = new Counts();
  readonly detect = new Map<string, Histogram>();
  readonly attemptFailures = new Counts();
  outcomeUnknownErrors = 0;
  /** Keyed `protocol\0verdict`. */
  readonly verdicts = new Counts();
  /** Keyed `driver\0flag`. */
  readonly disagreements = new Counts();
  private onRawDetect: ((h: Histogram) => void) | undefined = undefined;

  private readonly onDeath = (message: unknown): void => {
    const { death, detectMs } = message as DeathMessage;
    this.deaths.add(death.cause);
    if (detectMs === undefined) return;
    let h = this.detect.get(death.cause);
    if (h === undefined) {
      h = new Histogram();
      this.onRawDetect?.(h);
      this.detect.set(death.cause, h);
    }
    h.observe(detectMs);
  };

  private readonly onAttemptError = (message: unknown): void => {
    const trace = message as AttemptTrace;
    this.attemptFailures.add(trace.classification ?? 'unclassified');
    if (trace.outcomeUnknownError === true) this.outcomeUnknownErrors++;
  };

  private readonly onVerdict = (message: unknown): void => {
    const { protocol, verdict } = message as VerdictMessage;
    this.verdicts.add(`${protocol}\0${verdict}`);
  };

  private readonly onDisagreement = (message: unknown): void => {
    const { driver, flag } = message as DisagreementMessage;
    this.disagreements.add(`${driver}\0${flag}`);
  };

  start(): void {
    socketDeathChannel.subscribe(this.onDeath);
    execAttemptChannel.error.subscribe(this.onAttemptError);
    verifyVerdictChannel.subscribe(this.onVerdict);
    driverDisagreementChannel.subscribe(this.onDisagreement);
  }

  stop(): void {
    socketDeathChannel.unsubscribe(this.onDeath);
    execAttemptChannel.error.unsubscribe(this.onAttemptError);
    verifyVerdictChannel.unsubscribe(this.onVerdict);
    driverDisagreementChannel.unsubscribe(this.onDisagreement);
  }

  /** Called for every detect-time histogram, now and when a new cause appears (otel.ts keeps raw values). */
  eachDetect(callback: (h: Histogram) => void): void {
    this.onRawDetect = callback;
    for (const h of this.detect.values()) callback(h);
  }
}
