// LifelineMetrics: the one object an app makes to see its pools. It reads pools' stats and durations and the
// process-wide channels (socket deaths, attempts, verifications, disagreements) and hands them to a
// prom-client registry, an OpenTelemetry meter, or both. See docs/observe.md.
import { brand } from '../core/brand.js';
import { InvalidOptionError } from '../core/options.js';
import type { CircuitBreaker, HostSet, RetryBudget } from '../exec/index.js';
import { Pool, poolBehind } from '../pool/index.js';
import { families, type Sources } from './families.js';
import { SECONDS_BUCKETS } from './histogram.js';
import type { Family } from './model.js';
import { type MeterLike, type OtelRegistration, registerOtel } from './otel.js';
import { type PromRegistryLike, registerPrometheus } from './prometheus.js';
import { ChannelSource, PoolSource } from './sources.js';

export interface MetricsOptions {
  /** A prom-client (15.x) Registry, e.g. `new Registry()` or prom-client's default `register`. */
  registry?: PromRegistryLike;
  /** An OpenTelemetry Meter: `metrics.getMeter('lifeline-net')` from `@opentelemetry/api`. */
  meter?: MeterLike;
}

/** A lifeline Pool, or an adapter's pool (lifeline-net/pg's Pool, lifeline-net/mysql's pool). */
export type InstrumentablePool = object;

const OWNER = 'instrument';

/**
 * Lifeline's metrics for one process. Pools, breakers and budgets join with pool(), breaker(), hosts() and
 * budget(); socket deaths, attempt failures, verifications and disagreements of the whole process are counted
 * from diagnostics_channel as soon as it exists. close() stops it and removes its metrics from the registry.
 */
export class LifelineMetrics implements Sources {
  readonly pools = new Map<string, PoolSource>();
  readonly channels = new ChannelSource();
  readonly breakers = new Map<string, CircuitBreaker>();
  readonly budgets = new Map<string, RetryBudget>();
  private readonly unregister: (() => void) | undefined;
  private readonly otel: OtelRegistration | undefined;
  private closed = false;

  /** @throws InvalidOptionError without a registry or a meter; MetricNameTakenError on a name clash. */
  constructor(options: MetricsOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError(OWNER, 'options', 'must be { registry?, meter? }', options, {
        argument: true,
      });
    }
    const { registry, meter } = options;
    if (registry === undefined && meter === undefined) {
      throw new InvalidOptionError(
        OWNER,
        'registry',
        'or meter is needed: where should the metrics go?',
        options,
      );
    }
    if (registry !== undefined && typeof registry.registerMetric !== 'function') {
      throw new InvalidOptionError(OWNER, 'registry', 'must be a prom-client Registry', registry);
    }
    if (meter !== undefined && typeof meter.createHistogram !== 'function') {
      throw new InvalidOptionError(OWNER, 'meter', 'must be an OpenTelemetry Meter', meter);
    }
    const all: Family[] = families(this);
    this.unregister = registry === undefined ? undefined : registerPrometheus(registry, all);
    this.otel = meter === undefined ? undefined : registerOtel(meter, all, SECONDS_BUCKETS);
    const otel = this.otel;
    if (otel !== undefined) this.channels.eachDetect(() => queueMicrotask(() => otel.sync()));
    this.channels.start();
  }

  /**
   * Reports `pool` under `name` (db.client.connection.pool.name; default pool-1, pool-2, …). Its durations
   * are aggregated from now on; its counts are read at each scrape.
   * @throws InvalidOptionError when `pool` is not a lifeline pool or `name` is taken.
   */
  pool(pool: InstrumentablePool, name = `pool-${this.pools.size + 1}`): this {
    const core = pool instanceof Pool ? (pool as Pool<unknown>) : poolOf(pool);
    if (core === undefined) {
      throw new InvalidOptionError(
        `${OWNER}.pool`,
        'pool',
        'must be a lifeline-net Pool or an adapter pool (lifeline-net/pg, lifeline-net/mysql)',
        pool,
        { argument: true },
      );
    }
    if (typeof name !== 'string' || name === '' || this.pools.has(name)) {
      throw new InvalidOptionError(
        `${OWNER}.pool`,
        'name',
        'must be a non-empty name no other pool has',
        name,
        {
          argument: true,
        },
      );
    }
    const source = new PoolSource(name, core, pool);
    source.attach();
    this.pools.set(name, source);
    this.otel?.sync();
    return this;
  }

  /** Reports a breaker's state under its name. */
  breaker(breaker: CircuitBreaker): this {
    this.breakers.set(breaker.name, breaker);
    return this;
  }

  /** Reports the breaker of every host of `set`. */
  hosts(set: HostSet): this {
    for (const host of set.hosts) this.breakers.set(host.name, host.breaker);
    return this;
  }

  /** Reports how many retries `budget` allows now, under `name`. */
  budget(budget: RetryBudget, name: string): this {
    this.budgets.set(name, budget);
    return this;
  }

  /** Stops counting and removes lifeline's metrics from the registry. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channels.stop();
    for (const source of this.pools.values()) source.detach();
    this.unregister?.();
    this.otel?.close();
  }
}
brand(LifelineMetrics, 'LifelineMetrics');

function poolOf(pool: unknown): Pool<unknown> | undefined {
  return typeof pool === 'object' && pool !== null ? poolBehind(pool) : undefined;
}

/** Starts lifeline's metrics for this process: `instrument({ registry }).pool(pool, 'orders')`. */
export function instrument(options: MetricsOptions): LifelineMetrics {
  return new LifelineMetrics(options);
}
