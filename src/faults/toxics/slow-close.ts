import { type Attributes, BaseStage, ms, type ToxicDefinition } from '../toxic.js';

const schema = { delay: ms() };

/** Toxiproxy's slow_close: the stream's FIN is passed on `delay` ms late; data still flows at once. */
class SlowCloseStage extends BaseStage<Attributes<typeof schema>> {
  private timer: NodeJS.Timeout | undefined;

  override end(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.next.end();
    }, this.attributes.delay);
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    const pending = this.timer !== undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    return { held: [], ended: pending };
  }
}

export const slowClose: ToxicDefinition<typeof schema> = {
  type: 'slow_close',
  summary: 'delay the close (FIN) by delay ms',
  schema,
  create: (attributes, context, next) => new SlowCloseStage(attributes, context, next),
};
