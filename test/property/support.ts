// Shared pieces of the property tests: the fixed seed, hostile values, and the check that an option's
// validator either accepts a value or rejects it with a typed error naming the option.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LifelineError } from '../../src/core/errors.js';
import { InvalidOptionError } from '../../src/core/options.js';

/** Every property runs from this seed, so a failure replays exactly (fast-check prints seed and path). */
export const SEED = 16_016;

/** fast-check parameters for a property of `runs` runs: seeded, bounded, no shrinking past a few seconds. */
export function params(runs: number): { seed: number; numRuns: number; endOnFailure: true } {
  return { seed: SEED, numRuns: runs, endOnFailure: true };
}

/** Thrown by a hostile value's own getter: user code that throws may propagate unchanged. */
export class GetterError extends Error {}

/**
 * An object whose every conversion throws (a validator must reject it without calling valueOf/toString:
 * that would be a raw error out of lifeline) and whose `length` getter throws GetterError (user code).
 */
function booby(): object {
  const explode = (): never => {
    throw new TypeError('lifeline converted a hostile value (valueOf/toString/toPrimitive called)');
  };
  return {
    valueOf: explode,
    toString: explode,
    [Symbol.toPrimitive]: explode,
    get length(): never {
      throw new GetterError("the value's own getter threw");
    },
  };
}

/** Values that break naive validators: NaN, ±Infinity, huge, negative, fractions, strings, odd objects. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom<unknown>(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER + 2,
    -1,
    -0,
    0,
    0.5,
    1,
    1.5,
    2 ** 31,
    2 ** 32,
    1e12,
    '10',
    '',
    null,
    undefined,
    true,
    [],
    {},
    10n,
    Symbol('x'),
    () => 1,
    new Date(0),
    /x/,
    Object.create(null),
  ),
  fc.double(),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.constant(null).map(booby),
);

/**
 * Runs `build` (construct, use briefly, close). It must succeed, or fail with a LifelineError; when the
 * failure is an InvalidOptionError it must name `option` (or an option nested under it).
 */
export async function acceptsOrNames(option: string, build: () => Promise<void> | void): Promise<void> {
  try {
    await build();
  } catch (error) {
    if (error instanceof GetterError) return; // the caller's own getter threw: propagated unchanged
    assert.ok(
      error instanceof LifelineError,
      `option ${option}: expected a typed LifelineError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
    );
    if (error instanceof InvalidOptionError) {
      assert.ok(
        error.option === option ||
          error.option.startsWith(`${option}.`) ||
          // a nested policy built from a plain object names itself: RetryPolicy for `retry`, …
          error.message.toLowerCase().includes(option.toLowerCase()),
        `InvalidOptionError for ${option} names "${error.option}": ${error.message}`,
      );
    }
  }
}
