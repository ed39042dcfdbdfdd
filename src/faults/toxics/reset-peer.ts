// The reset_peer toxic (Toxiproxy's): an RST both ways some time after the first data.
import { type Attributes, ms, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { timeout: ms(0) };

/**
 * Toxiproxy's reset_peer: the first data (or FIN) that reaches it starts the clock; `timeout` ms later both
 * sides get a TCP RST (ECONNRESET). Data that reached it is dropped: it never arrives.
 */
class ResetPeerStage extends TimerStage<Attributes<typeof schema>> {
  private triggered = false;

  override write(chunk: Buffer): void {
    this.context.discard(chunk.length);
    this.trigger();
  }

  override end(): void {
    this.trigger();
  }

  private trigger(): void {
    if (this.triggered) return;
    this.triggered = true;
    if (this.attributes.timeout === 0) this.context.reset();
    else this.schedule(this.attributes.timeout, () => this.context.reset());
  }
}

export const resetPeer: ToxicDefinition<typeof schema> = {
  type: 'reset_peer',
  summary: 'on the first data, wait timeout ms, then RST both sides',
  schema,
  create: (attributes, context, next) => new ResetPeerStage(attributes, context, next),
};
