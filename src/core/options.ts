// Option and argument validation, once at construction: the rules, InvalidOptionError, describe().
import { brand } from './brand.js';
import { LifelineError } from './errors.js';
import { redact } from './redact.js';

export { MAX_TIMER_MS, timerMs } from './time.js';

/**
 * An option or an argument was missing, of the wrong type, out of range, or unknown. Options are checked
 * once, at construction, so a misconfigured component never starts; a method's arguments on each call.
 * `option` is the option's path (e.g. `createRetry.maxDelayMs`) or the argument's name (e.g. `op`).
 */
export class InvalidOptionError extends LifelineError {
  readonly option: string;

  constructor(
    owner: string,
    option: string,
    requirement: string,
    got: unknown,
    details?: { readonly argument?: boolean; readonly cause?: unknown },
  ) {
    const what = details?.argument === true ? 'argument' : 'option';
    super(
      'LIFELINE_INVALID_OPTION',
      `${owner} ${what} "${option}" ${requirement}, got ${describe(got)}; fix the ${what}`,
      details?.cause === undefined ? undefined : { cause: details.cause },
    );
    this.option = option;
  }
}
brand(InvalidOptionError, 'InvalidOptionError');

/**
 * For a method's number argument (a clock reading, a measured latency), checked on every call and so kept
 * inline at the call site: `if (!isFiniteAtLeast(now, 0)) throw badNumberArgument(…)`.
 */
export function isFiniteAtLeast(value: unknown, min: number): boolean {
  return typeof value === 'number' && value >= min && value < Number.POSITIVE_INFINITY;
}

/** The InvalidOptionError for a number argument that failed {@link isFiniteAtLeast}. */
export function badNumberArgument(owner: string, name: string, value: unknown, min = 0): InvalidOptionError {
  const requirement =
    min === Number.NEGATIVE_INFINITY ? 'must be a finite number' : `must be a finite number ≥ ${min}`;
  return new InvalidOptionError(owner, name, requirement, value, { argument: true });
}

/** How one option is checked. Numbers are finite unless `infinity` allows `Infinity`; NaN never passes. */
export type OptionRule = { readonly required?: boolean } & (
  | {
      readonly kind: 'number';
      readonly min: number;
      readonly max?: number;
      readonly integer?: boolean;
      readonly infinity?: boolean;
    }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'boolean' | 'function' | 'string' }
  /** A nested object. `open` allows keys without a rule (e.g. a factory object with its own fields). */
  | { readonly kind: 'object'; readonly rules: OptionRules; readonly open?: boolean }
);

export type OptionRules = Readonly<Record<string, OptionRule>>;

/**
 * Checks `options` against `rules`: unknown keys, missing required keys, wrong types and values out of
 * range all throw an {@link InvalidOptionError} that names the option and the allowed range. `undefined`
 * counts as absent. Cross-option constraints (e.g. `min <= max`) stay with the caller, which throws the
 * same error through {@link InvalidOptionError}'s constructor.
 */
export function validateOptions(owner: string, options: unknown, rules: OptionRules, open = false): void {
  checkObject(owner, '', options, rules, open);
}

function checkObject(owner: string, prefix: string, value: unknown, rules: OptionRules, open: boolean): void {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(owner, prefix.replace(/\.$/, '') || 'options', 'must be an object', value);
  }
  const record = value as Record<string, unknown>;
  if (!open) {
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(rules, key) && record[key] !== undefined) {
        throw new InvalidOptionError(
          owner,
          prefix + key,
          `is not a known option (known: ${Object.keys(rules).join(', ')})`,
          record[key],
        );
      }
    }
  }
  for (const [key, rule] of Object.entries(rules)) {
    checkOption(owner, prefix + key, record[key], rule);
  }
}

/** Checks one value against its rule, for per-call arguments; throws like {@link validateOptions}. */
export function checkOption(owner: string, path: string, value: unknown, rule: OptionRule): void {
  if (value === undefined) {
    if (rule.required) throw new InvalidOptionError(owner, path, `is required (${expected(rule)})`, value);
    return;
  }
  switch (rule.kind) {
    case 'number': {
      const ok =
        typeof value === 'number' &&
        !Number.isNaN(value) &&
        (Number.isFinite(value) || (rule.infinity === true && value === Number.POSITIVE_INFINITY)) &&
        value >= rule.min &&
        (rule.max === undefined || value <= rule.max) &&
        (!rule.integer || !Number.isFinite(value) || Number.isInteger(value));
      if (!ok) throw new InvalidOptionError(owner, path, `must be ${expected(rule)}`, value);
      return;
    }
    case 'enum':
      if (typeof value !== 'string' || !rule.values.includes(value)) {
        throw new InvalidOptionError(owner, path, `must be ${expected(rule)}`, value);
      }
      return;
    case 'object':
      checkObject(owner, `${path}.`, value, rule.rules, rule.open === true);
      return;
    default:
      if (typeof value !== rule.kind)
        throw new InvalidOptionError(owner, path, `must be ${expected(rule)}`, value);
  }
}

function expected(rule: OptionRule): string {
  switch (rule.kind) {
    case 'number': {
      const what = rule.integer ? 'an integer' : 'a number';
      const upper = rule.max ?? (rule.infinity ? 'Infinity' : '∞)');
      const range =
        typeof upper === 'number' || upper === 'Infinity'
          ? `[${rule.min}, ${upper}]`
          : `[${rule.min}, ${upper}`;
      return `${what} in ${range}`;
    }
    case 'enum':
      return `one of ${rule.values.map((v) => `'${v}'`).join(', ')}`;
    case 'object':
      return 'an object';
    default:
      return `a ${rule.kind}`;
  }
}

// Longer strings are cut in messages: a 500 000-character value must not become a 500 000-character log line.
const MAX_SHOWN = 120;

/**
 * A value as an error message shows it. Never recurses into objects, so a deeply nested value (a hostile
 * JSON body) cannot overflow the stack the way JSON.stringify would. Strings are shown with passwords
 * redacted (a connection string given to the wrong option) and cut after 120 characters.
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = redact(value);
    return shown.length <= MAX_SHOWN
      ? `'${shown}'`
      : `'${shown.slice(0, MAX_SHOWN)}…' (${value.length} characters)`;
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
