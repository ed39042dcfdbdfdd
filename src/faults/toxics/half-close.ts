// The half_close toxic (lifeline's own): a FIN one way while the other direction stays open.
import { type Attributes, ms, type Sink, type StageContext, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { delay: ms(0) };
type HalfCloseAttributes = Attributes<typeof schema>;

/**
 * lifeline's half_close: after `delay` ms, a FIN toward this stream's destination while the other direction
 * stays open — the peer that closed its side but still reads (CLOSE_WAIT on the other end). Data that
 * arrives for the closed direction afterwards is dropped.
 */
class HalfCloseStage extends TimerStage<HalfCloseAttributes> {
  private closed = false;

  constructor(attributes: HalfCloseAttributes, context: StageContext, next: Sink) {
    super(attributes, context, next);
    if (attributes.delay === 0) this.fire();
    else this.schedule(attributes.delay, () => this.fire());
  }

  override write(chunk: Buffer): void {
    if (this.closed) this.context.discard(chunk.length);
    else this.next.write(chunk);
  }

  override end(): void {
    if (!this.closed) this.next.end();
  }

  private fire(): void {
    this.closed = true;
    this.context.endDestination();
  }
}

export const halfClose: ToxicDefinition<typeof schema> = {
  type: 'half_close',
  summary: 'after delay ms, FIN toward this stream’s destination; the other direction stays open',
  schema,
  create: (attributes, context, next) => new HalfCloseStage(attributes, context, next),
};
