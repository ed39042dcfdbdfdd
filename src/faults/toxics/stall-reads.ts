// The stall_reads toxic (lifeline's own): the source stops being read, so the sender's writes back up.
import { type Attributes, ms, type Sink, type StageContext, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { duration: ms(0) };
type StallReadsAttributes = Attributes<typeof schema>;

/**
 * lifeline's stall_reads: stop reading this stream's source, like a peer too overloaded to read. The
 * kernel buffers fill and the sender's writes back up (a write stall), while the connection stays up.
 * `duration` ms later (0: until removed) reading resumes.
 */
class StallReadsStage extends TimerStage<StallReadsAttributes> {
  private stalled = true;

  constructor(attributes: StallReadsAttributes, context: StageContext, next: Sink) {
    super(attributes, context, next);
    context.stallSource(true);
    if (attributes.duration > 0) this.schedule(attributes.duration, () => this.resume());
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    this.resume();
    return super.detach();
  }

  private resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.cancel();
    this.context.stallSource(false);
  }
}

export const stallReads: ToxicDefinition<typeof schema> = {
  type: 'stall_reads',
  summary: 'stop reading the sender for duration ms (0: until removed), so its writes back up',
  schema,
  create: (attributes, context, next) => new StallReadsStage(attributes, context, next),
};
