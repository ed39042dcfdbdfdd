// Error messages in one style (issue 11): what happened, then what to do, as the library's own errors read
// (OutcomeUnknownError, InvalidOptionError): a lowercase start unless it is a name from the code, the
// second part after "; " or ". ", no closing period (the caller may add its own context after it).
// Checked on every error class of lifeline-net/faults, and on the demo's error for a missing package.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifelineError } from '../../src/core/errors.js';
import { EmbeddedPostgresUnavailableError } from '../../src/demo/drivers/pglite.js';
import {
  AddressInUseError,
  ProxyExistsError,
  ProxyNotFoundError,
  ToxicExistsError,
  ToxicNotFoundError,
} from '../../src/faults/errors.js';
import { NetemUnavailableError, NetnsCommandError, NetnsUnavailableError } from '../../src/faults/netns.js';

const errors: LifelineError[] = [
  new ProxyExistsError('pg'),
  new ProxyNotFoundError('pg'),
  new ToxicExistsError('pg', 'slow'),
  new ToxicNotFoundError('pg', 'slow'),
  new AddressInUseError('127.0.0.1:8474'),
  new NetnsUnavailableError('not root'),
  new NetnsCommandError('ip netns add x', new Error('RTNETLINK answers: Operation not permitted.')),
  new NetemUnavailableError(),
  new EmbeddedPostgresUnavailableError(new Error("Cannot find package '@electric-sql/pglite'")),
];

test('every message: what happened, then what to do, in the library style', () => {
  for (const error of errors) {
    const { message } = error;
    assert.ok(error instanceof LifelineError, message);
    assert.match(
      message,
      /^([a-z`]|[A-Z]\w*[.(])/,
      `starts lowercase or with a name from the code: ${message}`,
    );
    assert.match(message, /\S(; |\. )\S/, `no second part saying what to do: ${message}`);
    assert.doesNotMatch(message, /\.$/, `ends with a period: ${message}`);
    assert.doesNotMatch(message, /\.\./, `a doubled period: ${message}`);
  }
});

test("the messages the control API rewrites to Toxiproxy's still start with them", () => {
  // server.ts answers these codes with Toxiproxy's fixed text; the CLI and the tests match on the start.
  assert.match(new ProxyExistsError('pg').message, /^proxy already exists: pg; /);
  assert.match(new ProxyNotFoundError('pg').message, /^proxy not found: pg; /);
  assert.match(new ToxicExistsError('pg', 't').message, /^toxic already exists: t on proxy pg; /);
  assert.match(new ToxicNotFoundError('pg', 't').message, /^toxic not found: t on proxy pg; /);
  assert.match(
    new AddressInUseError('127.0.0.1:1').message,
    /^listen address already in use: 127\.0\.0\.1:1; /,
  );
});
