// The timeout toxic (Toxiproxy's): a black hole, then (optionally) a close.
import { type Attributes, ms, type Sink, type StageContext, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { timeout: ms() };
type TimeoutAttributes = Attributes<typeof schema>;

/**
 * Toxiproxy's timeout: a black hole. Data is read and dropped, so the sender sees its writes succeed and
 * no answer; after `timeout` ms the connection is closed, and with 0 it stays open and silent until the
 * toxic is removed. Removing it closes the connection, as Toxiproxy's Cleanup does: the stream has lost
 * bytes, and letting it flow again would hand the receiver a stream with a silent gap.
 */
class TimeoutStage extends TimerStage<TimeoutAttributes> {
  private endHeld = false;

  constructor(attributes: TimeoutAttributes, context: StageContext, next: Sink) {
    super(attributes, context, next);
    if (attributes.timeout > 0) this.schedule(attributes.timeout, () => context.close());
  }

  override write(chunk: Buffer): void {
    this.context.discard(chunk.length);
  }

  override end(): void {
    this.endHeld = true;
  }

  cleanup(): void {
    this.context.close();
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    super.detach();
    return { held: [], ended: this.endHeld };
  }
}

export const timeout: ToxicDefinition<typeof schema> = {
  type: 'timeout',
  summary: 'drop all data; close after timeout ms (0: stay open and silent)',
  schema,
  create: (attributes, context, next) => new TimeoutStage(attributes, context, next),
};
