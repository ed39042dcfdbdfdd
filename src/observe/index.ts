// observe's public surface: metrics (prom-client registry, OpenTelemetry meter) and the channel names.
export {
  CHANNEL_EVENTS,
  CHANNEL_NAMES,
  type DisagreementMessage,
  type VerdictMessage,
} from '../core/channels.js';
export { SECONDS_BUCKETS } from './histogram.js';
export { type InstrumentablePool, instrument, LifelineMetrics, type MetricsOptions } from './metrics.js';
export type { MeterLike } from './otel.js';
export { MetricNameTakenError, type PromRegistryLike } from './prometheus.js';
