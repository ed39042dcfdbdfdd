// The latency toxic (Toxiproxy's): each chunk delayed by latency ± jitter, order kept.

import { MAX_TIMER_MS } from '../../core/options.js';
import { preciseNow } from '../../core/time.js';
import { type Attributes, ms, type ToxicDefinition } from '../toxic.js';
import { DelayStage } from './delay-queue.js';

const schema = { latency: ms(), jitter: ms(0) };

/** Toxiproxy's latency: each chunk waits `latency` ± `jitter` ms from its arrival; order is kept. */
class LatencyStage extends DelayStage<Attributes<typeof schema>> {
  override write(chunk: Buffer): void {
    const { latency, jitter } = this.attributes;
    const delay = jitter > 0 ? latency + (this.context.random() * 2 - 1) * jitter : latency;
    this.enqueue(chunk, preciseNow() + Math.max(0, delay));
  }
}

export const latency: ToxicDefinition<typeof schema> = {
  type: 'latency',
  summary: 'delay each chunk by latency ± jitter ms',
  schema,
  // The longest wait is latency + jitter: it must fit one timer, as each of them does alone.
  check: ({ latency, jitter }) =>
    latency + jitter > MAX_TIMER_MS
      ? `latency + jitter must be at most ${MAX_TIMER_MS} (ms), got ${latency} + ${jitter}`
      : undefined,
  create: (attributes, context, next) => new LatencyStage(attributes, context, next),
};
