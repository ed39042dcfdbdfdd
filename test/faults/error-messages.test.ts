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
  InvalidProxyError,
  InvalidToxicError,
  ProxyExistsError,
  ProxyNotFoundError,
  ToxicExistsError,
  ToxicNotFoundError,
} from '../../src/faults/errors.js';
import { NetemUnavailableError, NetnsCommandError, NetnsUnavailableError } from '../../src/faults/netns.js';
import { echoServer, startApi } from './helpers.js';

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

test('invalid proxies and toxics: the thrown error says what to do, the HTTP API answers the Toxiproxy-worded part alone', async (t) => {
  const echo = await echoServer(t);
  const { api, call } = await startApi(t);
  assert.equal((await call('POST', '/proxies', { name: 'p', upstream: echo.address })).status, 201);
  assert.equal(
    (await call('POST', '/proxies/p/toxics', { name: 't', type: 'latency', attributes: { latency: 1 } }))
      .status,
    200,
  );
  const proxy = () => api.proxies.get('p');
  // Each refused request, the same input given to the library, and the start of the API's text.
  const cases: Array<[string, string, unknown, () => unknown, RegExp]> = [
    [
      'POST',
      '/proxies',
      { name: 'x' },
      () => api.proxies.create({ name: 'x' }),
      /^missing required field: upstream$/,
    ],
    [
      'POST',
      '/proxies',
      { name: 'x', upstream: 'nope' },
      () => api.proxies.create({ name: 'x', upstream: 'nope' }),
      /^upstream must be "host:port"/,
    ],
    [
      'POST',
      '/proxies',
      { name: '..', upstream: echo.address },
      () => api.proxies.create({ name: '..', upstream: echo.address }),
      /^proxy name must be/,
    ],
    ['POST', '/proxies', [1], () => api.proxies.create([1]), /^a proxy must be a JSON object$/],
    [
      'POST',
      '/proxies',
      { name: 'x', upstream: echo.address, enabled: 1 },
      () => api.proxies.create({ name: 'x', upstream: echo.address, enabled: 1 }),
      /^enabled must be true or false$/,
    ],
    ['POST', '/populate', {}, () => api.proxies.populate({}), /^populate takes a JSON array of proxies$/],
    [
      'POST',
      '/populate',
      [
        { name: 'a', upstream: echo.address },
        { name: 'a', upstream: echo.address },
      ],
      () =>
        api.proxies.populate([
          { name: 'a', upstream: echo.address },
          { name: 'a', upstream: echo.address },
        ]),
      /^duplicate proxy name "a"$/,
    ],
    [
      'POST',
      '/proxies/p',
      { upstream: 5 },
      () => api.proxies.update('p', { upstream: 5 }),
      /^upstream must be a string$/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'explode' },
      () => proxy().addToxic({ type: 'explode' } as never),
      /^invalid toxic type: 'explode' \(known: /,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'latency', stream: 'sideways', attributes: { latency: 1 } },
      () => proxy().addToxic({ type: 'latency', stream: 'sideways', attributes: { latency: 1 } } as never),
      /^stream was invalid, can be either upstream or downstream$/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'latency' },
      () => proxy().addToxic({ type: 'latency' } as never),
      /^missing attribute latency of a latency toxic/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'latency', attributes: { latency: 1, latncy: 2 } },
      () => proxy().addToxic({ type: 'latency', attributes: { latency: 1, latncy: 2 } } as never),
      /^unknown attribute "latncy"/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'latency', toxicity: 2, attributes: { latency: 1 } },
      () => proxy().addToxic({ type: 'latency', toxicity: 2, attributes: { latency: 1 } }),
      /^toxicity must be a number from 0 to 1, got 2$/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'reset_peer', target: { connection: 0 } },
      () => proxy().addToxic({ type: 'reset_peer', target: { connection: 0 } }),
      /^target\.connection must be/,
    ],
    [
      'POST',
      '/proxies/p/toxics',
      { type: 'reset_peer', target: { conection: 1 } },
      () => proxy().addToxic({ type: 'reset_peer', target: { conection: 1 } } as never),
      /^unknown target field "conection"/,
    ],
    [
      'POST',
      '/proxies/p/toxics/t',
      { attributes: 3 },
      () => proxy().updateToxic('t', { attributes: 3 } as never),
      /^attributes of a latency toxic must be an object$/,
    ],
  ];
  for (const [method, path, body, library, start] of cases) {
    const label = `${method} ${path} ${JSON.stringify(body)}`;
    const response = await call(method, path, body);
    assert.equal(response.status, 400, label);
    const answer = response.body as { error: string; status: number };
    assert.deepEqual(Object.keys(answer).sort(), ['error', 'status'], `Toxiproxy's body shape: ${label}`);
    assert.equal(answer.status, 400, label);
    assert.match(answer.error, start, label);
    let thrown: unknown;
    try {
      await library();
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof InvalidProxyError || thrown instanceof InvalidToxicError, label);
    assert.equal(thrown.apiMessage, answer.error, `the API answers the first part alone: ${label}`);
    assert.ok(thrown.message.startsWith(`${answer.error}; `), `${label}: ${thrown.message}`);
    const advice = thrown.message.slice(answer.error.length + 2);
    assert.match(advice, /^(choose|give|pass|remove|set|use|fix) \S/, `what to do: ${thrown.message}`);
    assert.doesNotMatch(thrown.message, /\.$/, `ends with a period: ${thrown.message}`);
  }
});

test('an unusable listen address keeps its cause and says what to do', async () => {
  const proxy = new InvalidProxyError(
    'listen address 192.0.2.1:0 cannot be used: EADDRNOTAVAIL',
    'use an address of this machine',
    {
      cause: new Error('listen EADDRNOTAVAIL'),
    },
  );
  assert.equal(proxy.code, 'LIFELINE_INVALID_PROXY');
  assert.equal((proxy.cause as Error).message, 'listen EADDRNOTAVAIL');
  assert.equal(proxy.apiMessage, 'listen address 192.0.2.1:0 cannot be used: EADDRNOTAVAIL');
  const toxic = new InvalidToxicError('toxic name must be a string', 'choose another name', { cause: 'x' });
  assert.equal(toxic.code, 'LIFELINE_INVALID_TOXIC');
  assert.equal(toxic.cause, 'x');
  assert.equal(toxic.message, 'toxic name must be a string; choose another name');
});
