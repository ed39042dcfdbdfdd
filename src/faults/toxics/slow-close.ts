// The slow_close toxic (Toxiproxy's): the FIN passed on late.
import { type Attributes, ms, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { delay: ms() };

/** Toxiproxy's slow_close: the stream's FIN is passed on `delay` ms late; data still flows at once. */
class SlowCloseStage extends TimerStage<Attributes<typeof schema>> {
  override end(): void {
    this.schedule(this.attributes.delay, () => this.next.end());
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    const endPending = this.scheduled;
    super.detach();
    return { held: [], ended: endPending };
  }
}

export const slowClose: ToxicDefinition<typeof schema> = {
  type: 'slow_close',
  summary: 'delay the close (FIN) by delay ms',
  schema,
  create: (attributes, context, next) => new SlowCloseStage(attributes, context, next),
};
