// Property: the control API answers any method, path and body with 2xx or 4xx — never 5xx — and stays
// healthy after. Bodies are random JSON, random text, and near-valid proxies and toxics with one field bent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ControlServer } from '../../src/faults/index.js';
import { params } from './support.js';

const segment = fc.oneof(
  fc.constantFrom(
    'proxies',
    'toxics',
    'version',
    'reset',
    'populate',
    'metrics',
    'p1',
    't1',
    '%',
    '%zz',
    '..',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const path = fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`);

// Only loopback is ever listened on; upstreams are never dialled (nothing connects to the proxies).
const bent = fc.record(
  {
    name: fc.oneof(fc.constant('p1'), fc.string({ maxLength: 8 }), fc.jsonValue()),
    listen: fc.constantFrom('127.0.0.1:0', 'localhost:0', '127.0.0.1:99999', '', 'x'),
    upstream: fc.oneof(fc.constant('127.0.0.1:9'), fc.jsonValue()),
    enabled: fc.oneof(fc.boolean(), fc.jsonValue()),
    type: fc.oneof(fc.constantFrom('latency', 'timeout', 'slicer', 'bandwidth', 'nope'), fc.jsonValue()),
    stream: fc.oneof(fc.constantFrom('upstream', 'downstream'), fc.jsonValue()),
    toxicity: fc.oneof(fc.double(), fc.jsonValue()),
    attributes: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()), fc.jsonValue()),
    target: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  bent.map((v) => JSON.stringify(v)),
  fc.array(bent, { maxLength: 3 }).map((v) => JSON.stringify(v)),
);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS');

describe('control API under random requests', () => {
  const server = new ControlServer({ port: 0, seed: 1, log: () => {} });
  let base = '';
  before(async () => {
    const { port } = await server.start();
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.stop());

  it('answers 2xx/4xx, never 5xx, and stays healthy', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, body, async (m, p, b) => {
        const init: RequestInit = { method: m };
        if (b !== undefined && m !== 'GET' && m !== 'HEAD') init.body = b;
        // A path that is not a valid URL is refused by fetch itself, before reaching the server.
        let response: Response;
        try {
          response = await fetch(`${base}${p}`, init);
        } catch (error) {
          if (error instanceof TypeError && /URL|url/.test(String(error.message))) return;
          throw error;
        }
        await response.arrayBuffer();
        assert.ok(response.status < 500, `${m} ${p} ${b ?? ''} → ${response.status}`);
      }),
      params(400),
    );
    const version = await fetch(`${base}/version`);
    assert.equal(version.status, 200);
    const reset = await fetch(`${base}/reset`, { method: 'POST' });
    assert.equal(reset.status, 204);
  });
});
