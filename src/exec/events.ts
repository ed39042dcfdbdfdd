// execute()'s typed events and the sink that delivers them under core/events.ts's listener rule.
import { listenerFailed, notify } from '../core/events.js';
import type { BreakerStateEvent } from './breaker.js';
import type { Classification } from './classify/classification.js';
import type { Host } from './hosts.js';

export interface AttemptEvent {
  /** 1-based. */
  readonly attempt: number;
  readonly host: Host | undefined;
  /** True when this attempt is a hedge running beside another. */
  readonly hedge: boolean;
}

export interface RetryEvent {
  /** The attempt that failed. */
  readonly attempt: number;
  readonly error: unknown;
  readonly classification: Classification;
  readonly delayMs: number;
  readonly host: Host | undefined;
}

export type GiveUpReason =
  | 'not-retryable'
  | 'outcome-unknown'
  | 'max-attempts'
  | 'deadline'
  | 'budget-exhausted'
  | 'circuit-open'
  | 'no-healthy-host'
  | 'aborted';

export interface GiveUpEvent {
  readonly attempts: number;
  readonly reason: GiveUpReason;
  /** What the caller receives. */
  readonly error: unknown;
}

export interface BudgetExhaustedEvent {
  readonly attempts: number;
  /** 'retry' or 'hedge': what the budget refused. */
  readonly refused: 'retry' | 'hedge';
  readonly error: unknown;
}

export interface FailoverEvent {
  readonly from: Host;
  readonly to: Host;
  readonly error: unknown;
}

/** Callbacks for what execute() does. Each is optional; a throwing callback is ignored. */
export interface ExecEvents {
  onAttempt?(event: AttemptEvent): void;
  onRetry?(event: RetryEvent): void;
  onGiveUp?(event: GiveUpEvent): void;
  onBudgetExhausted?(event: BudgetExhaustedEvent): void;
  /** A breaker changed state as the outcome of an attempt of this call. */
  onBreakerState?(event: BreakerStateEvent): void;
  onFailover?(event: FailoverEvent): void;
  /** Same as onAttempt with hedge: true; here for listeners that only care about hedges. */
  onHedge?(event: AttemptEvent): void;
}

/**
 * An EventEmitter (or anything with emit) receives the same events under these names. With
 * `listenerCount`, an event nobody listens to is not even built.
 */
export interface EmitterLike {
  emit(name: string, event: unknown): unknown;
  listenerCount?(name: string): number;
}

export type EventName =
  | 'attempt'
  | 'retry'
  | 'give-up'
  | 'budget-exhausted'
  | 'breaker-state'
  | 'failover'
  | 'hedge';

/** Where execute() sends events: it asks `wants` first, so an event nobody listens to is never built. */
export interface EventSink {
  wants(name: EventName): boolean;
  send(name: EventName, event: unknown): void;
}

const HANDLERS: Record<EventName, keyof ExecEvents> = {
  attempt: 'onAttempt',
  retry: 'onRetry',
  'give-up': 'onGiveUp',
  'budget-exhausted': 'onBudgetExhausted',
  'breaker-state': 'onBreakerState',
  failover: 'onFailover',
  hedge: 'onHedge',
};

/** One sink for either form, built once per options object. */
export function toSink(events: ExecEvents | EmitterLike): EventSink {
  if (typeof (events as EmitterLike).emit === 'function') {
    const emitter = events as EmitterLike;
    return {
      wants:
        typeof emitter.listenerCount === 'function'
          ? (name) => (emitter.listenerCount as (name: string) => number)(name) > 0
          : () => true,
      send(name, event) {
        // core/events.ts's rule: a listener's throw never breaks the call it observes; it is rethrown later.
        try {
          emitter.emit(name, event);
        } catch (error) {
          listenerFailed(error);
        }
      },
    };
  }
  const callbacks = events as ExecEvents;
  const handler = (name: EventName) => callbacks[HANDLERS[name]] as ((e: unknown) => void) | undefined;
  return {
    wants: (name) => typeof handler(name) === 'function',
    send(name, event) {
      const listener = handler(name);
      if (listener !== undefined) notify(listener, event, callbacks);
    },
  };
}
