import { preciseNow } from '../../core/time.js';
import type { Attributes, ToxicDefinition } from '../toxic.js';
import { DelayStage } from './delay-queue.js';

// KB means 1000 bytes here, as in Toxiproxy; 0 means unlimited, as in Toxiproxy. Toxiproxy takes whole
// KB/s; fractions down to 1 byte/s are lifeline's, and slower would make one byte wait longer than a timer
// holds.
const schema = {
  rate: { kind: 'number', min: 0.001, orZero: true, max: 10_000_000, unit: 'KB/s' },
} as const;

/** Toxiproxy's bandwidth: at most `rate` KB/s, sent in pieces of 100 ms worth so slow rates still trickle. */
class BandwidthStage extends DelayStage<Attributes<typeof schema>> {
  private clock = 0;

  override write(chunk: Buffer): void {
    const bytesPerMs = this.attributes.rate; // rate KB/s = rate bytes/ms
    if (bytesPerMs === 0) {
      this.enqueue(chunk, 0);
      return;
    }
    const piece = Math.max(1, Math.floor(bytesPerMs * 100));
    this.clock = Math.max(this.clock, preciseNow());
    this.hold(chunk);
    for (let offset = 0; offset < chunk.length; offset += piece) {
      const size = Math.min(piece, chunk.length - offset);
      this.clock += size / bytesPerMs;
      this.schedule(size, this.clock);
    }
  }
}

export const bandwidth: ToxicDefinition<typeof schema> = {
  type: 'bandwidth',
  summary: 'limit the stream to rate KB/s',
  schema,
  create: (attributes, context, next) => new BandwidthStage(attributes, context, next),
};
