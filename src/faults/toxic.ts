// The toxic model: types, streams, targeting, attribute schemas, and the stage every toxic runs as.
import { describe, MAX_TIMER_MS } from '../core/options.js';
import { InvalidToxicError } from './errors.js';

export type Stream = 'upstream' | 'downstream';

export type ToxicType =
  | 'latency'
  | 'bandwidth'
  | 'slow_close'
  | 'timeout'
  | 'reset_peer'
  | 'slicer'
  | 'limit_data'
  | 'half_close'
  | 'stall_reads'
  | 'lifetime';

export type AttributeValue = number | boolean;

/** Narrows which connections, and which part of a stream, a toxic acts on. All given conditions must hold. */
export interface ToxicTarget {
  /** Only the Nth connection the proxy accepted (1-based). */
  connection?: number;
  /** Only the bytes of this stream after the first N of the connection: earlier bytes pass untouched. */
  afterBytes?: number;
  /** Only once data arrives on a connection that has carried nothing, either way, for at least N ms. */
  idleMs?: number;
}

/** What callers pass to `addToxic` (and the HTTP API's POST body). */
export interface ToxicSpec {
  name?: string;
  type: ToxicType;
  stream?: Stream;
  toxicity?: number;
  attributes?: Record<string, AttributeValue>;
  target?: ToxicTarget;
}

/** A toxic as stored and as shown by the API: Toxiproxy's JSON shape, plus `target` when one is set. */
export interface Toxic {
  name: string;
  type: ToxicType;
  stream: Stream;
  toxicity: number;
  attributes: Record<string, AttributeValue>;
  target?: ToxicTarget;
}

export interface ToxicPatch {
  toxicity?: number;
  attributes?: Record<string, AttributeValue>;
  target?: ToxicTarget;
}

/** Where a stage sends what it lets through. */
export interface Sink {
  write(chunk: Buffer): void;
  end(): void;
}

/** What a toxic may do to its connection, beyond passing data on. */
export interface StageContext {
  /** When the connection was accepted (Date.now()). */
  readonly openedAt: number;
  /** Seeded uniform draw in [0, 1), private to this toxic on this connection and stream. */
  random(): number;
  /** RST both sides now. */
  reset(): void;
  /** Close both sides with a FIN, after what was already written. */
  close(mode?: 'fin' | 'reset'): void;
  /** FIN toward this stream's destination only; the other direction stays open. */
  endDestination(): void;
  /** Stop (true) or restart (false) reading this stream's source, so the sender's writes back up. */
  stallSource(stalled: boolean): void;
  /** Bytes this stage dropped, so the link's flow accounting stays right. */
  discard(bytes: number): void;
}

/**
 * One toxic on one stream of one connection. It receives the stream in order and forwards what it lets
 * through to `next`, which the link may re-point when toxics before or after it change.
 */
export interface Stage extends Sink {
  next: Sink;
  /** Stop timers and hand back what is still held, oldest first, and whether the stream's end was held too. */
  detach(): { held: Buffer[]; ended: boolean };
  /**
   * The toxic was removed from the proxy (not on an update, nor when the connection closes): Toxiproxy's
   * CleanupToxic. Runs before `detach`.
   */
  cleanup?(): void;
}

export interface NumberAttribute {
  kind: 'number';
  /** Absent: the attribute is required. */
  default?: number;
  min: number;
  max: number;
  /** 0 is also accepted, below `min` (bandwidth's "unlimited"). */
  orZero?: boolean;
  integer?: boolean;
  unit: string;
}

export interface BooleanAttribute {
  kind: 'boolean';
  default: boolean;
}

export type AttributeSchema = Record<string, NumberAttribute | BooleanAttribute>;

export type Attributes<S extends AttributeSchema> = {
  [K in keyof S]: S[K] extends BooleanAttribute ? boolean : number;
};

export interface ToxicDefinition<S extends AttributeSchema = AttributeSchema> {
  type: ToxicType;
  summary: string;
  schema: S;
  /** Checks between attributes (each one's range is in the schema); returns what is wrong, if anything. */
  check?(attributes: Attributes<S>): string | undefined;
  create(attributes: Attributes<S>, context: StageContext, next: Sink): Stage;
}

/**
 * A duration attribute in milliseconds, up to what one Node timer holds (about 24.8 days): every duration
 * a toxic waits, alone or added to another (latency + jitter), stays within it.
 */
export function ms(defaultValue?: number): NumberAttribute {
  return {
    kind: 'number',
    min: 0,
    max: MAX_TIMER_MS,
    unit: 'ms',
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  };
}

/**
 * Checks attributes against a toxic's schema and fills defaults. Unknown names are refused so a typo
 * (`latncy`) fails loudly instead of silently meaning 0.
 */
export function validateAttributes<S extends AttributeSchema>(
  definition: ToxicDefinition<S>,
  input: unknown,
): Attributes<S> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new InvalidToxicError(
      `attributes of a ${definition.type} toxic must be an object`,
      'pass attributes as an object of name: value',
    );
  }
  const given = (input ?? {}) as Record<string, unknown>;
  const known = Object.keys(definition.schema);
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      const list = known.length === 0 ? 'none' : known.join(', ');
      throw new InvalidToxicError(
        `unknown attribute "${name}" for a ${definition.type} toxic (known: ${list})`,
        'remove that attribute or correct its spelling',
      );
    }
  }
  const out: Record<string, AttributeValue> = {};
  for (const [name, spec] of Object.entries(definition.schema)) {
    const value = given[name];
    if (spec.kind === 'boolean') {
      if (value === undefined) out[name] = spec.default;
      else if (typeof value === 'boolean') out[name] = value;
      else
        throw new InvalidToxicError(
          `attribute ${name} of a ${definition.type} toxic must be true or false`,
          `set ${name} to true or false, or leave it out for ${spec.default}`,
        );
      continue;
    }
    const range = `${spec.orZero ? '0 or ' : ''}${spec.min} to ${spec.max}`;
    if (value === undefined) {
      if (spec.default === undefined) {
        throw new InvalidToxicError(
          `missing attribute ${name} of a ${definition.type} toxic (${spec.unit}, ${range})`,
          `give the toxic's attributes a ${name} in that range`,
        );
      }
      out[name] = spec.default;
      continue;
    }
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      ((value >= spec.min && value <= spec.max) || (spec.orZero === true && value === 0)) &&
      (!spec.integer || Number.isInteger(value));
    if (!ok) {
      const kind = spec.integer ? 'an integer' : 'a number';
      throw new InvalidToxicError(
        `attribute ${name} of a ${definition.type} toxic must be ${spec.orZero ? '0 or ' : ''}${kind} from ${spec.min} to ${spec.max} (${spec.unit}), got ${describe(value)}`,
        `set ${name} within that range`,
      );
    }
    out[name] = value;
  }
  const problem = definition.check?.(out as Attributes<S>);
  if (problem !== undefined) {
    throw new InvalidToxicError(
      `${definition.type} toxic: ${problem}`,
      'fix the attributes to meet that bound',
    );
  }
  return out as Attributes<S>;
}

/** Base of every toxic's stage: forwards everything at once and holds nothing, unless a toxic says otherwise. */
export abstract class BaseStage<A> implements Stage {
  constructor(
    protected readonly attributes: A,
    protected readonly context: StageContext,
    public next: Sink,
  ) {}

  write(chunk: Buffer): void {
    this.next.write(chunk);
  }

  end(): void {
    this.next.end();
  }

  detach(): { held: Buffer[]; ended: boolean } {
    return { held: [], ended: false };
  }
}
