// Fuzzing the control server below fetch, over raw sockets, with a bearer token set (what
// test/property/control-api.test.ts does not reach: it sends well-formed requests through fetch, without a
// token): malformed request lines, bent and missing Authorization headers, Content-Length lies, broken chunked
// encoding, oversized headers, raw bytes. Every answer is 2xx or 4xx, or the connection is closed on a request
// HTTP itself refuses; never 5xx; the server answers afterwards. A bounded version of `npm run soak -- --fuzz`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzControl, send, TOKEN } from '../../soak/fuzz-control.js';
import { ControlServer } from '../../src/faults/index.js';
import { params } from '../property/support.js';

const token = fc.oneof(
  fc.constant(`Bearer ${TOKEN}`),
  fc.constant(`bearer ${TOKEN}`),
  fc.constant(`Bearer ${TOKEN} `),
  fc.constant('Bearer'),
  fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 40 }),
);
const headerValue = fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, ''));
const request = fc.record({
  method: fc.oneof(
    fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH', 'PUT', 'OPTIONS', 'HEAD'),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => s.replace(/[\s]/g, 'X')),
  ),
  path: fc.oneof(
    fc.constantFrom(
      '/proxies',
      '/proxies/p0',
      '/proxies/p0/toxics',
      '/proxies/p0/toxics/t1',
      '/populate',
      '/reset',
      '/version',
      '/metrics',
    ),
    fc.webPath(),
    fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
  ),
  authorization: fc.option(token, { nil: undefined }),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom('Content-Type', 'User-Agent', 'X-Forwarded-For', 'Expect', 'Origin'),
      headerValue,
    ),
    { maxLength: 3 },
  ),
  body: fc.oneof(
    fc.constant(''),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record({
        name: fc.string({ maxLength: 6 }),
        listen: fc.constantFrom('127.0.0.1:0', '0.0.0.0:0', 'x'),
        upstream: fc.constant('127.0.0.1:9'),
      })
      .map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 80 }),
  ),
  framing: fc.constantFrom('length', 'chunked', 'broken-chunked', 'none'),
});

describe('control server under raw, malformed requests (token set)', () => {
  const server = new ControlServer({ port: 0, seed: 1, log: () => {}, token: TOKEN });
  let port = 0;
  before(async () => {
    port = (await server.start()).port;
  });
  after(() => server.stop());

  it('fast-check requests: 2xx/4xx or closed, never 5xx, never left hanging', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = ['Host: 127.0.0.1', 'Connection: close'];
        if (r.authorization !== undefined) headers.push(`Authorization: ${r.authorization}`);
        for (const [k, v] of r.extra) headers.push(`${k}: ${v}`);
        let payload = Buffer.from(r.body);
        if (r.framing === 'length') headers.push(`Content-Length: ${payload.length}`);
        else if (r.framing === 'chunked' || r.framing === 'broken-chunked') {
          headers.push('Transfer-Encoding: chunked');
          payload = Buffer.from(
            r.framing === 'chunked'
              ? `${payload.length.toString(16)}\r\n${r.body}\r\n0\r\n\r\n`
              : `zz\r\n${r.body}`,
          );
        }
        const raw = Buffer.concat([
          Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`),
          payload,
        ]);
        const status = await send(port, raw, 5000);
        assert.notEqual(status, undefined, 'the server neither answered nor closed');
        assert.ok((status as number) < 500, `${r.method} ${r.path} → ${status}`);
      }),
      params(300),
    );
    const version = await fetch(`http://127.0.0.1:${port}/version`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(version.status, 200);
    await version.arrayBuffer();
  });

  it('the soak fuzzer, 400 raw requests (seed 16): no 5xx, nothing unanswered, healthy after', async () => {
    const r = await fuzzControl(16, 400);
    assert.deepEqual(r.serverErrors, []);
    assert.deepEqual(r.unanswered, []);
    assert.ok(r.healthyAfter, 'GET /version and POST /reset answer after the fuzz');
    assert.ok(
      (r.statuses['401'] ?? 0) > 0 && (r.statuses['200'] ?? 0) > 0,
      'both refused and served requests',
    );
  });
});
