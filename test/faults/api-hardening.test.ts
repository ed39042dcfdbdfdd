import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { MAX_TIMER_MS } from '../../src/core/options.js';
import { FaultProxy, InvalidProxyError, InvalidToxicError, ProxyCollection } from '../../src/faults/index.js';
import { echoServer, observe, startApi } from './helpers.js';

const timeout = 30_000;

/** A name that cannot come back through `/proxies/{name}`, with what the API answers for it. */
const unusableNames: Array<[string, RegExp]> = [
  ['.', /name must be .*, got "\."$/],
  ['..', /name must be .*, got "\.\."$/],
  ['a/b', /contains "\/"/],
  ['x'.repeat(201), /got 201 characters/],
  ['x'.repeat(500_000), /got 500000 characters/],
  ['a\u0000b', /a control character/],
  ['tab\there', /a control character/],
  ['del\u007f', /a control character/],
  ['lone\ud800', /lone surrogate/],
];

/** Names a client that percent-encodes the path segment gets back intact. */
const usableNames = [
  '...',
  '.a',
  'a.',
  'a b',
  'ü',
  '😀',
  'a%2Fb',
  '%2e',
  '%2E%2E',
  'a?b#c',
  'a\\b',
  'x'.repeat(200),
];

/** JSON nested `depth` deep, as text. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

test('a proxy name that cannot round-trip through the URL path is refused: API (400), populate, collection, library', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { api, call } = await startApi(t);
  for (const [name, message] of unusableNames) {
    const label = JSON.stringify(name.slice(0, 20));
    const created = await call('POST', '/proxies', { name, upstream: echo.address });
    assert.equal(created.status, 400, label);
    assert.match((created.body as { error: string }).error, /^proxy name must be a string of 1 to 200/);
    assert.match((created.body as { error: string }).error, message, label);
    const populated = await call('POST', '/populate', [
      { name: 'fine', upstream: echo.address },
      { name, upstream: echo.address },
    ]);
    assert.equal(populated.status, 400, label);
    assert.match((populated.body as { error: string }).error, /at proxy 2$/, label);
    await assert.rejects(api.proxies.create({ name, upstream: echo.address }), InvalidProxyError, label);
    assert.throws(() => new FaultProxy({ name, upstream: echo.address }), {
      name: 'InvalidProxyError',
      code: 'LIFELINE_INVALID_PROXY',
    });
  }
  // Nothing was created, so nothing listens: not even the valid first entry of a refused populate.
  assert.deepEqual((await call('GET', '/proxies')).body, {});
  await assert.rejects(new ProxyCollection().populate([{ name: '..', upstream: echo.address }]), {
    code: 'LIFELINE_INVALID_PROXY',
    message: /at proxy 1; choose another name$/,
    apiMessage: /at proxy 1$/,
  });
});

test('a toxic name that cannot round-trip through the URL path is refused: API (400) and library', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { api, call } = await startApi(t);
  assert.equal((await call('POST', '/proxies', { name: 'p', upstream: echo.address })).status, 201);
  for (const [name, message] of unusableNames) {
    const label = JSON.stringify(name.slice(0, 20));
    const added = await call('POST', '/proxies/p/toxics', { name, type: 'reset_peer' });
    assert.equal(added.status, 400, label);
    assert.match((added.body as { error: string }).error, /^toxic name must be/, label);
    assert.match((added.body as { error: string }).error, message, label);
    assert.throws(() => api.proxies.get('p').addToxic({ name, type: 'reset_peer' }), InvalidToxicError);
  }
  assert.deepEqual((await call('GET', '/proxies/p/toxics')).body, []);
});

test('every accepted name round-trips: a percent-encoding client can fetch, use and delete it', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { call } = await startApi(t);
  for (const name of usableNames) {
    const path = `/proxies/${encodeURIComponent(name)}`;
    assert.equal((await call('POST', '/proxies', { name, upstream: echo.address })).status, 201, name);
    assert.equal(((await call('GET', path)).body as { name: string }).name, name);
    assert.equal((await call('POST', `${path}/toxics`, { name, type: 'reset_peer' })).status, 200, name);
    const toxicPath = `${path}/toxics/${encodeURIComponent(name)}`;
    assert.equal(((await call('GET', toxicPath)).body as { name: string }).name, name);
    assert.equal((await call('POST', toxicPath, { attributes: { timeout: 5 } })).status, 200, name);
    assert.equal((await call('DELETE', toxicPath)).status, 204, name);
    assert.equal((await call('POST', path, { enabled: false })).status, 200, name);
    assert.equal((await call('DELETE', path)).status, 204, name);
  }
  assert.deepEqual(
    (await call('GET', '/proxies')).body,
    {},
    'every proxy was deleted: none keeps a listener',
  );
});

test('JSON nested 200 000 deep is a 400 on every route that takes a body; over 1 MiB is a 413', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { call } = await startApi(t);
  assert.equal((await call('POST', '/proxies', { name: 'p', upstream: echo.address })).status, 201);
  const toxic = { name: 't', type: 'latency', attributes: { latency: 1 } };
  assert.equal((await call('POST', '/proxies/p/toxics', toxic)).status, 200);
  const deep = nested(200_000);
  const bodies: Array<[string, string, string]> = [
    ['POST', '/proxies', deep],
    ['POST', '/proxies', `{"name":"x","upstream":${deep}}`],
    ['POST', '/proxies', `{"name":${deep},"upstream":"${echo.address}"}`],
    ['POST', '/populate', `[{"name":"x","upstream":${deep}}]`],
    ['POST', '/proxies/p', `{"listen":${deep}}`],
    ['PATCH', '/proxies/p', `{"enabled":${deep}}`],
    ['POST', '/proxies/p/toxics', deep],
    ['POST', '/proxies/p/toxics', `{"type":${deep}}`],
    ['POST', '/proxies/p/toxics', `{"type":"latency","attributes":{"latency":${deep}}}`],
    ['POST', '/proxies/p/toxics', `{"type":"latency","target":{"connection":${deep}}}`],
    ['POST', '/proxies/p/toxics/t', `{"toxicity":${deep}}`],
    ['PATCH', '/proxies/p/toxics/t', `{"attributes":{"latency":${deep}}}`],
    ['POST', '/proxies/p/toxics', '['.repeat(200_000)],
  ];
  for (const [method, path, raw] of bodies) {
    const response = await call(method, path, undefined, raw);
    assert.deepEqual(
      response,
      { status: 400, body: { error: 'bad request body: JSON nested deeper than 32 levels', status: 400 } },
      `${method} ${path} ${raw.slice(0, 30)}`,
    );
  }
  // Brackets inside strings are text, not nesting.
  const bracketName = await call('POST', '/proxies/p/toxics', { ...toxic, name: '['.repeat(150) });
  assert.equal(bracketName.status, 200);
  const big = await call('POST', '/proxies', undefined, JSON.stringify({ name: 'x'.repeat(1 << 20) }));
  assert.equal(big.status, 413);
  assert.match((big.body as { error: string }).error, /larger than 1048576 bytes/);
  const state = (await call('GET', '/proxies/p')).body as { toxics: Array<{ name: string }> };
  assert.deepEqual(
    state.toxics.map((x) => x.name),
    ['t', '['.repeat(150)],
  );
});

test('library: a deeply nested value in a toxic or proxy is a typed error, not a stack overflow', () => {
  let deep: unknown = [];
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const proxy = new FaultProxy({ upstream: '127.0.0.1:1' });
  for (const spec of [
    { type: deep },
    { type: 'latency', attributes: { latency: deep } },
    { type: 'latency', attributes: { latency: 1 }, toxicity: deep },
    { type: 'latency', attributes: { latency: 1 }, target: { idleMs: deep } },
  ]) {
    assert.throws(() => proxy.addToxic(spec as never), { code: 'LIFELINE_INVALID_TOXIC' });
  }
  assert.throws(() => new FaultProxy({ upstream: deep as string }), { code: 'LIFELINE_INVALID_PROXY' });
});

test('pipelined requests on one connection are handled in order: create, then delete, finds the proxy', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { port, call } = await startApi(t);
  const body = JSON.stringify({ name: 'q', upstream: echo.address });
  const socket = net.connect({ host: '127.0.0.1', port });
  const seen = observe(socket);
  t.after(() => socket.destroy());
  socket.write(
    `POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      'DELETE /proxies/q HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /proxies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.equal(await seen.finished, 'end');
  const statuses = [...seen.text().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [201, 204, 200]);
  assert.ok(seen.text().endsWith('\r\n\r\n{}'), 'the GET after the delete lists no proxy');
  assert.equal((await call('GET', '/proxies/q')).status, 404);
});

test('attributes that become a wait or a rate are bounded over the API (400, naming attribute and range)', {
  timeout,
}, async (t) => {
  const echo = await echoServer(t);
  const { call } = await startApi(t);
  assert.equal((await call('POST', '/proxies', { name: 'p', upstream: echo.address })).status, 201);
  const refused: Array<[unknown, RegExp]> = [
    [
      { type: 'latency', attributes: { latency: MAX_TIMER_MS, jitter: MAX_TIMER_MS } },
      /^latency toxic: latency \+ jitter must be at most 2147483647 \(ms\), got 2147483647 \+ 2147483647$/,
    ],
    [
      { type: 'bandwidth', attributes: { rate: 1e-10 } },
      /^attribute rate of a bandwidth toxic must be 0 or a number from 0\.001 to 10000000 \(KB\/s\), got 1e-10$/,
    ],
    [{ type: 'slow_close', attributes: { delay: MAX_TIMER_MS + 1 } }, /delay .* from 0 to 2147483647 \(ms\)/],
    [{ type: 'slicer', attributes: { average_size: 1, delay: MAX_TIMER_MS * 1000 + 1 } }, /delay .* \(µs\)/],
  ];
  for (const [toxic, message] of refused) {
    const response = await call('POST', '/proxies/p/toxics', toxic);
    assert.equal(response.status, 400, JSON.stringify(toxic));
    assert.match((response.body as { error: string }).error, message);
  }
  const accepted = [
    { name: 'l', type: 'latency', attributes: { latency: MAX_TIMER_MS - 1000, jitter: 1000 } },
    { name: 'b', type: 'bandwidth', attributes: { rate: 0.001 } },
    { name: 's', type: 'slicer', attributes: { average_size: 1, delay: MAX_TIMER_MS * 1000 } },
  ];
  for (const toxic of accepted) {
    assert.equal((await call('POST', '/proxies/p/toxics', toxic)).status, 200, toxic.name);
  }
  const update = await call('POST', '/proxies/p/toxics/l', { attributes: { jitter: 1001 } });
  assert.equal(update.status, 400, 'an update is checked against the merged attributes');
});
