// Every metric family lifeline reports (docs/observe.md is the list for users): the OpenTelemetry database
// client connection metrics per pool, then lifeline's own. Values are read from their sources at collection.
import type { CircuitBreaker, RetryBudget } from '../exec/index.js';
import type { Histogram } from './histogram.js';
import { hostFamilies } from './hosts.js';
import type { Attributes, Family, HistogramSample, ValueSample } from './model.js';
import type { ChannelSource, Counts, PoolSource } from './sources.js';

export const POOL_NAME = 'db.client.connection.pool.name';
export const STATE = 'db.client.connection.state';

/** What the families read: the state a LifelineMetrics keeps. */
export interface Sources {
  readonly pools: ReadonlyMap<string, PoolSource>;
  readonly channels: ChannelSource;
  readonly breakers: ReadonlyMap<string, CircuitBreaker>;
  readonly budgets: ReadonlyMap<string, RetryBudget>;
}

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

function perPool(s: Sources, read: (p: PoolSource) => number, extra?: Attributes): ValueSample[] {
  return [...s.pools.values()].map((p) => ({
    attributes: { [POOL_NAME]: p.name, ...extra },
    value: read(p),
  }));
}

function poolHistograms(s: Sources, pick: (p: PoolSource) => Histogram): HistogramSample[] {
  return [...s.pools.values()].map((p) => ({ attributes: { [POOL_NAME]: p.name }, histogram: pick(p) }));
}

function counted(counts: Counts, attribute: string, extra?: Attributes): ValueSample[] {
  return [...counts.byKey].map(([key, value]) => ({ attributes: { ...extra, [attribute]: key }, value }));
}

export function families(s: Sources): Family[] {
  const stats = (p: PoolSource) => p.pool.stats();
  return [
    {
      name: 'db.client.connection.count',
      kind: 'updown',
      unit: '{connection}',
      description: 'Connections the pool holds, by state: idle, or used (lent out or under a check).',
      collect: () => [
        ...perPool(s, (p) => stats(p).idle, { [STATE]: 'idle' }),
        ...perPool(s, (p) => stats(p).busy + stats(p).checking, { [STATE]: 'used' }),
      ],
    },
    {
      name: 'db.client.connection.idle.max',
      kind: 'updown',
      unit: '{connection}',
      description: 'The most idle connections the pool keeps (its max: idle ones leave by idleTimeoutMs).',
      collect: () => perPool(s, (p) => stats(p).max),
    },
    {
      name: 'db.client.connection.idle.min',
      kind: 'updown',
      unit: '{connection}',
      description: 'The fewest connections the pool keeps open (min).',
      collect: () => perPool(s, (p) => stats(p).min),
    },
    {
      name: 'db.client.connection.max',
      kind: 'updown',
      unit: '{connection}',
      description: 'The most connections the pool opens (max).',
      collect: () => perPool(s, (p) => stats(p).max),
    },
    {
      name: 'db.client.connection.pending_requests',
      kind: 'updown',
      unit: '{request}',
      description: 'Acquires waiting for a connection.',
      collect: () => perPool(s, (p) => stats(p).waiting),
    },
    {
      name: 'db.client.connection.timeouts',
      kind: 'counter',
      unit: '{timeout}',
      description: 'Acquires that timed out (AcquireTimeoutError).',
      collect: () => perPool(s, (p) => stats(p).acquireTimeouts),
    },
    {
      name: 'db.client.connection.create_time',
      kind: 'histogram',
      unit: 's',
      description: 'Time to create a connection (the factory, connect and handshake included).',
      collect: () => poolHistograms(s, (p) => p.create),
    },
    {
      name: 'db.client.connection.wait_time',
      kind: 'histogram',
      unit: 's',
      description: 'Time an acquire waited for a connection (1 ms resolution).',
      collect: () => poolHistograms(s, (p) => p.waits()),
    },
    {
      name: 'db.client.connection.use_time',
      kind: 'histogram',
      unit: 's',
      description: 'Time a connection was lent out, acquire to release (1 ms resolution).',
      collect: () => poolHistograms(s, (p) => p.uses()),
    },
    {
      name: 'lifeline.pool.evictions',
      kind: 'counter',
      unit: '{connection}',
      description:
        'Connections the pool destroyed, by reason (dead, ping-failed, idle-timeout, lifetime, …).',
      collect: () =>
        [...s.pools.values()].flatMap((p) =>
          Object.entries(stats(p).evicted).map(([reason, value]) => ({
            attributes: { [POOL_NAME]: p.name, 'lifeline.evict.reason': reason },
            value,
          })),
        ),
    },
    {
      name: 'lifeline.pool.create_errors',
      kind: 'counter',
      unit: '{error}',
      description: 'Connection creates that failed.',
      collect: () => perPool(s, (p) => stats(p).createErrors),
    },
    {
      name: 'lifeline.socket.deaths',
      kind: 'counter',
      unit: '{connection}',
      description:
        'LiveSocket deaths in this process, by cause (peer-fin, reset, keepalive, read-timeout, …).',
      collect: () => counted(s.channels.deaths, 'lifeline.death.cause'),
    },
    {
      name: 'lifeline.socket.death.detect_time',
      kind: 'histogram',
      unit: 's',
      description: 'Time from fault to known dead, by cause, where a lifeline timer measured it.',
      collect: () =>
        [...s.channels.detect].map(([cause, histogram]) => ({
          attributes: { 'lifeline.death.cause': cause },
          histogram,
        })),
    },
    {
      name: 'lifeline.exec.attempt.failures',
      kind: 'counter',
      unit: '{attempt}',
      description: 'Failed attempts of execute() (pool.query included), by classification.',
      collect: () => counted(s.channels.attemptFailures, 'lifeline.classification'),
    },
    {
      name: 'lifeline.exec.outcome_unknown',
      kind: 'counter',
      unit: '{error}',
      description: 'Calls that ended with OutcomeUnknownError.',
      collect: () => [{ attributes: {}, value: s.channels.outcomeUnknownErrors }],
    },
    {
      name: 'lifeline.breaker.state',
      kind: 'gauge',
      unit: '1',
      description: "A circuit breaker's state: 1 for the state it is in, 0 for the others.",
      collect: () =>
        [...s.breakers].flatMap(([name, breaker]) =>
          BREAKER_STATES.map((state) => ({
            attributes: { 'lifeline.breaker': name, 'lifeline.breaker.state': state },
            value: breaker.state === state ? 1 : 0,
          })),
        ),
    },
    {
      name: 'lifeline.retry_budget.available',
      kind: 'gauge',
      unit: '{retry}',
      description: 'Retries a retry budget would allow now.',
      collect: () =>
        [...s.budgets].map(([name, budget]) => ({
          attributes: { 'lifeline.budget': name },
          value: budget.available(),
        })),
    },
    {
      name: 'lifeline.verify.verdicts',
      kind: 'counter',
      unit: '{verification}',
      description: 'Lost-reply verifications (a silent connection asked about on another), by verdict.',
      collect: () =>
        [...s.channels.verdicts.byKey].map(([key, value]) => {
          const [protocol = '', verdict = ''] = key.split('\0');
          return { attributes: { 'lifeline.protocol': protocol, 'lifeline.verdict': verdict }, value };
        }),
    },
    {
      name: 'lifeline.driver.disagreements',
      kind: 'counter',
      unit: '{check}',
      description: "Checks where a driver's own connected/ready flag disagreed with lifeline's socket state.",
      collect: () =>
        [...s.channels.disagreements.byKey].map(([key, value]) => {
          const [driver = '', flag = ''] = key.split('\0');
          return { attributes: { 'lifeline.driver': driver, 'lifeline.driver.flag': flag }, value };
        }),
    },
    ...hostFamilies(() => s.pools.values()),
  ];
}
