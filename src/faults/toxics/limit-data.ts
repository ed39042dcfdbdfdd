import { type Attributes, BaseStage, type ToxicDefinition } from '../toxic.js';

const schema = {
  bytes: { kind: 'number', min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, unit: 'bytes' },
} as const;

/** Toxiproxy's limit_data: lets `bytes` bytes through on this stream, then closes the connection (FIN). */
class LimitDataStage extends BaseStage<Attributes<typeof schema>> {
  private sent = 0;

  override write(chunk: Buffer): void {
    const room = this.attributes.bytes - this.sent;
    if (room <= 0) {
      this.context.discard(chunk.length);
      return;
    }
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (part.length < chunk.length) this.context.discard(chunk.length - part.length);
    this.sent += part.length;
    this.next.write(part);
    if (this.sent >= this.attributes.bytes) this.context.close();
  }
}

export const limitData: ToxicDefinition<typeof schema> = {
  type: 'limit_data',
  summary: 'close the connection once bytes bytes have passed',
  schema,
  create: (attributes, context, next) => new LimitDataStage(attributes, context, next),
};
