import type { DeathCause } from '../../socket/index.js';
import type { SubscriptionGap } from './options.js';

/** The channels, patterns and shard channels a connection was subscribed to. */
export interface Subscribed {
  channels: string[];
  patterns: string[];
  shardChannels: string[];
}

const SUBSCRIBE = new Set(['subscribe', 'psubscribe', 'ssubscribe']);

/** ioredis keeps a connection's subscriptions in a SubscriptionSet (`channels(mode)`); `false` when none. */
export function ioredisSubscribed(subscriber: unknown): Subscribed | undefined {
  if (typeof subscriber !== 'object' || subscriber === null || !('channels' in subscriber)) return undefined;
  const set = subscriber as { channels(mode: string): string[] };
  const names = {
    channels: set.channels('subscribe'),
    patterns: set.channels('psubscribe'),
    shardChannels: set.channels('ssubscribe'),
  };
  return names.channels.length + names.patterns.length + names.shardChannels.length > 0 ? names : undefined;
}

/**
 * Measures the time a subscriber spends without its subscriptions: from the death of the connection that
 * held them to the server's confirmation of every SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE sent on the next one, and
 * reports it. A connection that dies again before the confirmation extends the same gap.
 */
export class SubscriptionWatch {
  readonly #report: (gap: SubscriptionGap) => void;
  #since: number | undefined;
  #cause: DeathCause | 'unknown' = 'unknown';
  #names: Subscribed | undefined;
  #collecting: Promise<unknown>[] | undefined;

  constructor(report: (gap: SubscriptionGap) => void) {
    this.#report = report;
  }

  /** The connection died holding `subscribed`. */
  died(subscribed: Subscribed | undefined, cause: DeathCause): void {
    if (subscribed === undefined || this.#since !== undefined) return;
    this.#since = Date.now();
    this.#cause = cause;
    this.#names = subscribed;
  }

  /** A new connection is ready; the driver resubscribes in this same turn (see written). */
  ready(): void {
    if (this.#since === undefined || this.#collecting !== undefined) return;
    const collecting: Promise<unknown>[] = [];
    this.#collecting = collecting;
    process.nextTick(() => {
      this.#collecting = undefined;
      if (collecting.length === 0) return;
      Promise.all(collecting).then(
        () => this.#confirmed(),
        () => {},
      );
    });
  }

  /** A command was written; during a resubscription its confirmation closes the gap. */
  written(name: string, reply: Promise<unknown>): void {
    if (this.#collecting !== undefined && SUBSCRIBE.has(name)) this.#collecting.push(reply);
  }

  #confirmed(): void {
    const since = this.#since;
    const names = this.#names;
    if (since === undefined || names === undefined) return;
    this.#since = undefined;
    this.#names = undefined;
    this.#report({ durationMs: Date.now() - since, ...names, cause: this.#cause });
  }
}
