// Toxic specs as given to addToxic or the API: checked, with Toxiproxy's defaults filled in.
import { describe, MAX_TIMER_MS } from '../core/options.js';
import { InvalidToxicError } from './errors.js';
import { nameProblem } from './names.js';
import { type Stream, type Toxic, type ToxicTarget, type ToxicType, validateAttributes } from './toxic.js';
import { toxicDefinitions } from './toxics/index.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isToxicType(value: unknown): value is ToxicType {
  return typeof value === 'string' && Object.hasOwn(toxicDefinitions, value);
}

function toxicity(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value === 'number' && value >= 0 && value <= 1) return value;
  throw new InvalidToxicError(
    `toxicity must be a number from 0 to 1, got ${describe(value)}`,
    'set toxicity to the share of connections the toxic acts on (0 to 1), or leave it out for 1',
  );
}

const targetLimits: Record<keyof ToxicTarget, { min: number; max: number; integer: boolean; what: string }> =
  {
    connection: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true, what: 'a 1-based connection number' },
    afterBytes: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, what: 'a byte count' },
    idleMs: { min: 0, max: MAX_TIMER_MS, integer: false, what: 'milliseconds' },
  };

function target(value: unknown): ToxicTarget | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value))
    throw new InvalidToxicError(
      'target must be an object: { connection?, afterBytes?, idleMs? }',
      'pass target as such an object, or leave it out to act on every connection from its first byte',
    );
  const out: ToxicTarget = {};
  for (const [key, raw] of Object.entries(value)) {
    if (!Object.hasOwn(targetLimits, key)) {
      throw new InvalidToxicError(
        `unknown target field "${key}" (known: connection, afterBytes, idleMs)`,
        'remove that field or correct its spelling',
      );
    }
    const limit = targetLimits[key as keyof ToxicTarget];
    if (raw === undefined) continue;
    if (
      typeof raw !== 'number' ||
      !(raw >= limit.min && raw <= limit.max) ||
      (limit.integer && !Number.isInteger(raw))
    ) {
      throw new InvalidToxicError(
        `target.${key} must be ${limit.what} from ${limit.min} to ${limit.max}, got ${describe(raw)}`,
        `set target.${key} within that range, or leave it out`,
      );
    }
    out[key as keyof ToxicTarget] = raw;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Validates a toxic as given to `addToxic` or POSTed to the API and fills Toxiproxy's defaults: stream
 * `downstream`, toxicity 1, name `<type>_<stream>`.
 */
export function normalizeToxic(input: unknown): Toxic {
  if (!isObject(input)) {
    throw new InvalidToxicError(
      'a toxic must be a JSON object',
      'pass an object { type, name?, stream?, toxicity?, attributes?, target? }',
    );
  }
  const type = input.type;
  if (!isToxicType(type)) {
    const known = Object.keys(toxicDefinitions).join(', ');
    throw new InvalidToxicError(
      `invalid toxic type: ${describe(type)} (known: ${known})`,
      'use one of the known types',
    );
  }
  const stream = input.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') {
    throw new InvalidToxicError(
      'stream was invalid, can be either upstream or downstream',
      'set stream to "upstream" (client to server) or "downstream" (server to client), or leave it out for downstream',
    );
  }
  const name = input.name === undefined || input.name === '' ? `${type}_${stream}` : input.name;
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw new InvalidToxicError(
      `toxic name ${problem}`,
      'choose another name, or leave it out for <type>_<stream>',
    );
  }
  const toxic: Toxic = {
    name: name as string,
    type,
    stream: stream satisfies Stream,
    toxicity: toxicity(input.toxicity),
    attributes: validateAttributes(toxicDefinitions[type], input.attributes),
  };
  const scope = target(input.target);
  if (scope) toxic.target = scope;
  return toxic;
}

/** Applies an update (Toxiproxy merges attributes; type, stream and name stay). */
export function patchToxic(toxic: Toxic, patch: unknown): Toxic {
  if (!isObject(patch)) {
    throw new InvalidToxicError(
      'a toxic update must be a JSON object',
      'pass an object { toxicity?, attributes?, target? }',
    );
  }
  if (patch.attributes !== undefined && !isObject(patch.attributes)) {
    throw new InvalidToxicError(
      `attributes of a ${toxic.type} toxic must be an object`,
      'pass attributes as an object of name: value',
    );
  }
  return normalizeToxic({
    name: toxic.name,
    type: toxic.type,
    stream: toxic.stream,
    toxicity: patch.toxicity ?? toxic.toxicity,
    attributes: { ...toxic.attributes, ...patch.attributes },
    target: patch.target === undefined ? toxic.target : patch.target,
  });
}
