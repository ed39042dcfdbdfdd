// The lifetime toxic (lifeline's own): every connection cut at a given age, like a managed proxy's limit.
import { type Attributes, ms, type Sink, type StageContext, type ToxicDefinition } from '../toxic.js';
import { TimerStage } from './timer-stage.js';

const schema = { lifetime: ms(), reset: { kind: 'boolean', default: false } } as const;
type LifetimeAttributes = Attributes<typeof schema>;

/**
 * lifeline's lifetime: cuts every connection once it is `lifetime` ms old, busy or idle — the managed
 * database proxy that closes connections after 24 h, compressed. A FIN by default, an RST with reset.
 */
class LifetimeStage extends TimerStage<LifetimeAttributes> {
  constructor(attributes: LifetimeAttributes, context: StageContext, next: Sink) {
    super(attributes, context, next);
    const left = Math.max(0, context.openedAt + attributes.lifetime - Date.now());
    this.schedule(left, () => context.close(attributes.reset ? 'reset' : 'fin'));
  }
}

export const lifetime: ToxicDefinition<typeof schema> = {
  type: 'lifetime',
  summary: 'close every connection lifetime ms after it opened (FIN, or RST with reset: true)',
  schema,
  create: (attributes, context, next) => new LifetimeStage(attributes, context, next),
};
