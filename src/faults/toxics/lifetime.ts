import {
  type Attributes,
  BaseStage,
  ms,
  type Sink,
  type StageContext,
  type ToxicDefinition,
} from '../toxic.js';

const schema = { lifetime: ms(), reset: { kind: 'boolean', default: false } } as const;
type LifetimeAttributes = Attributes<typeof schema>;

/**
 * lifeline's lifetime: cuts every connection once it is `lifetime` ms old, busy or idle — the managed
 * database proxy that closes connections after 24 h, compressed. A FIN by default, an RST with reset.
 */
class LifetimeStage extends BaseStage<LifetimeAttributes> {
  private readonly timer: NodeJS.Timeout;

  constructor(attributes: LifetimeAttributes, context: StageContext, next: Sink) {
    super(attributes, context, next);
    const left = Math.max(0, context.openedAt + attributes.lifetime - Date.now());
    this.timer = setTimeout(() => context.close(attributes.reset ? 'reset' : 'fin'), left);
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    clearTimeout(this.timer);
    return { held: [], ended: false };
  }
}

export const lifetime: ToxicDefinition<typeof schema> = {
  type: 'lifetime',
  summary: 'close every connection lifetime ms after it opened (FIN, or RST with reset: true)',
  schema,
  create: (attributes, context, next) => new LifetimeStage(attributes, context, next),
};
