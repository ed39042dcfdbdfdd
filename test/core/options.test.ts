// src/core/options.ts: the one option validator. A nested option given a non-object is named by its own path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError, type OptionRules, validateOptions } from '../../src/core/options.js';

test('a nested option that is not an object is named without a trailing dot', () => {
  const rules: OptionRules = {
    socket: { kind: 'object', rules: { keepaliveIdleMs: { kind: 'number', min: 0 } } },
  };
  for (const bad of [1, 'x', null, true]) {
    assert.throws(
      () => validateOptions('Thing', { socket: bad }, rules),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'socket' && !/socket\./.test(e.message),
    );
  }
  assert.throws(
    () => validateOptions('Thing', { socket: { keepaliveIdleMs: -1 } }, rules),
    (e: unknown) => e instanceof InvalidOptionError && e.option === 'socket.keepaliveIdleMs',
  );
  assert.throws(
    () => validateOptions('Thing', 5, rules),
    (e: unknown) => e instanceof InvalidOptionError && e.option === 'options',
  );
});
