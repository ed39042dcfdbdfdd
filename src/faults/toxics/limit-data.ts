// The limit_data toxic (Toxiproxy's): N bytes through, then a close.
import { type Attributes, BaseStage, type ToxicDefinition } from '../toxic.js';

const schema = {
  bytes: { kind: 'number', min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, unit: 'bytes' },
} as const;

/**
 * Toxiproxy's limit_data: lets `bytes` bytes through on this stream, then closes the connection (FIN). With
 * 0, as in Toxiproxy, the first data to arrive closes it and none of it passes.
 */
class LimitDataStage extends BaseStage<Attributes<typeof schema>> {
  private sent = 0;
  private closed = false;

  override write(chunk: Buffer): void {
    const room = Math.max(0, this.attributes.bytes - this.sent);
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (part.length < chunk.length) this.context.discard(chunk.length - part.length);
    if (part.length > 0) {
      this.sent += part.length;
      this.next.write(part);
    }
    if (!this.closed && this.sent >= this.attributes.bytes) {
      this.closed = true;
      this.context.close();
    }
  }
}

export const limitData: ToxicDefinition<typeof schema> = {
  type: 'limit_data',
  summary: 'close the connection once bytes bytes have passed',
  schema,
  create: (attributes, context, next) => new LimitDataStage(attributes, context, next),
};
