// The slicer toxic (Toxiproxy's): chunks cut into small slices sent apart.

import { MAX_TIMER_MS } from '../../core/options.js';
import { preciseNow } from '../../core/time.js';
import type { Attributes, ToxicDefinition } from '../toxic.js';
import { DelayStage } from './delay-queue.js';

const schema = {
  average_size: { kind: 'number', min: 1, max: 1 << 30, integer: true, unit: 'bytes' },
  size_variation: { kind: 'number', default: 0, min: 0, max: 1 << 30, integer: true, unit: 'bytes' },
  // Each slice waits at most one timer's longest delay after the one before it.
  delay: { kind: 'number', default: 0, min: 0, max: MAX_TIMER_MS * 1000, unit: 'µs' },
} as const;

/**
 * Toxiproxy's slicer: cuts each chunk into slices of about `average_size` ± `size_variation` bytes, sent
 * `delay` µs apart, so the reader sees a message arrive in many small reads.
 */
class SlicerStage extends DelayStage<Attributes<typeof schema>> {
  private clock = 0;

  override write(chunk: Buffer): void {
    const { average_size, size_variation, delay } = this.attributes;
    this.clock = Math.max(this.clock, preciseNow());
    this.hold(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const variation = Math.round((this.context.random() * 2 - 1) * size_variation);
      const size = Math.min(Math.max(1, average_size + variation), chunk.length - offset);
      this.schedule(size, this.clock);
      this.clock += delay / 1000;
      offset += size;
    }
  }
}

export const slicer: ToxicDefinition<typeof schema> = {
  type: 'slicer',
  summary: 'cut chunks into average_size ± size_variation byte slices, delay µs apart',
  schema,
  check: (attributes) =>
    attributes.size_variation >= attributes.average_size
      ? `size_variation (${attributes.size_variation}) must be smaller than average_size (${attributes.average_size})`
      : undefined,
  create: (attributes, context, next) => new SlicerStage(attributes, context, next),
};
