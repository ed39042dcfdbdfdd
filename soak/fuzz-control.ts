// Fuzzing the fault proxy's control server over raw sockets, below what fetch lets a client send: random and
// malformed request lines, paths, headers (authorization right, wrong and bent; content-length lies; broken
// chunked encoding; browser user agents) and bodies (random JSON, near-valid proxies and toxics, raw bytes),
// against a server with a bearer token. Every answer must be 2xx or 4xx (or the connection closed on a request
// HTTP itself refuses), never 5xx; the server must answer GET /version afterwards. Used by
// test/faults/control-fuzz.test.ts (bounded) and `npm run soak -- --fuzz`. test/property/control-api.test.ts
// covers well-formed requests through fetch; this covers the bytes fetch never sends.
import net from 'node:net';
import { ControlServer } from '../src/faults/index.js';
import { rng } from './schedule.js';

export const TOKEN = 'fuzz-token-16';

export interface ControlFuzzResult {
  requests: number;
  /** Status codes seen (0: the server closed without an answer, as for a request HTTP refuses). */
  statuses: Record<string, number>;
  /** Requests answered with 5xx: the raw request, shortened. */
  serverErrors: string[];
  /** Requests the server neither answered nor closed within the wait. */
  unanswered: string[];
  healthyAfter: boolean;
}

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

function randomText(random: () => number, max: number): string {
  const n = Math.floor(random() * max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = random();
    s += String.fromCharCode(
      r < 0.7
        ? 32 + Math.floor(random() * 95)
        : r < 0.9
          ? Math.floor(random() * 32)
          : 0x80 + Math.floor(random() * 0x3000),
    );
  }
  return s;
}

function randomJson(random: () => number, depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.3)
    return pick(random, [null, true, false, 0, -1, 1e308, 0.5, '', 'x', '127.0.0.1:0', '%']);
  if (r < 0.5) return randomText(random, 20);
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < random() * 5; i++) o[pick(random, KEYS)] = randomJson(random, depth + 1);
  return o;
}

const KEYS = [
  'name',
  'listen',
  'upstream',
  'enabled',
  'type',
  'stream',
  'toxicity',
  'attributes',
  'latency',
  'rate',
  '__proto__',
  'constructor',
];

/** Near-valid bodies: a proxy or toxic with one field bent. Listens only on loopback; upstream port 9 (nothing). */
function nearValid(random: () => number): unknown {
  const proxy: Record<string, unknown> = {
    name: `p${Math.floor(random() * 4)}`,
    listen: '127.0.0.1:0',
    upstream: '127.0.0.1:9',
    enabled: true,
  };
  const toxic: Record<string, unknown> = {
    name: 't1',
    type: pick(random, ['latency', 'timeout', 'slicer', 'bandwidth', 'reset_peer', 'limit_data', 'nope']),
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 10, timeout: 0, rate: 1 },
  };
  const base = random() < 0.5 ? proxy : toxic;
  base[pick(random, KEYS)] = randomJson(random);
  if (random() < 0.2)
    base.listen = pick(random, ['0.0.0.0:0', '10.0.0.1:0', '[::]:0', 'localhost:0', '127.0.0.1:99999', ':0']);
  return random() < 0.2 ? [base, nearValid(random)] : base;
}

/** Real routes, so that half the requests reach the handlers behind the router. */
const ROUTES: readonly (readonly [string, string])[] = [
  ['GET', '/proxies'],
  ['POST', '/proxies'],
  ['POST', '/populate'],
  ['GET', '/proxies/p0'],
  ['POST', '/proxies/p0'],
  ['DELETE', '/proxies/p1'],
  ['GET', '/proxies/p0/toxics'],
  ['POST', '/proxies/p0/toxics'],
  ['POST', '/proxies/p0/toxics/t1'],
  ['DELETE', '/proxies/p0/toxics/t1'],
  ['POST', '/reset'],
  ['GET', '/version'],
  ['GET', '/metrics'],
];
const METHODS = [
  'GET',
  'POST',
  'PATCH',
  'DELETE',
  'PUT',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'CONNECT',
  'get',
  'BREW',
  'G\0T',
  '',
];
const SEGMENTS = [
  'proxies',
  'toxics',
  'version',
  'reset',
  'populate',
  'metrics',
  'p0',
  'p1',
  't1',
  '%',
  '%zz',
  '..',
  '.',
  '',
  '%2F',
  '%00',
];

/** One raw request; `mayStall`: it promised more body than it sent, so the server rightly waits for the rest. */
export function randomRequest(random: () => number): { raw: Buffer; mayStall: boolean } {
  if (random() < 0.05) return { raw: Buffer.from(randomText(random, 200)), mayStall: true }; // not HTTP at all: may look like an unfinished request line
  const route = random() < 0.5 ? pick(random, ROUTES) : undefined;
  const method = route?.[0] ?? pick(random, METHODS);
  let path =
    route?.[1] ??
    `/${Array.from({ length: Math.floor(random() * 4) }, () => (random() < 0.85 ? pick(random, SEGMENTS) : encodeURIComponent(randomText(random, 10)))).join('/')}`;
  if (random() < 0.05) path += `?${randomText(random, 30).replace(/[\s]/g, '')}`;
  if (random() < 0.02) path = `/${'a'.repeat(20000)}`;
  const r = random();
  const body =
    r < 0.3
      ? ''
      : r < 0.55
        ? JSON.stringify(nearValid(random))
        : r < 0.75
          ? JSON.stringify(randomJson(random))
          : r < 0.85
            ? `${'['.repeat(40)}${']'.repeat(40)}`
            : randomText(random, 100);
  const headers: string[] = [`Host: 127.0.0.1`];
  const auth = random();
  if (auth < 0.6) headers.push(`Authorization: Bearer ${TOKEN}`);
  else if (auth < 0.7) headers.push(`Authorization: Bearer ${TOKEN}x`);
  else if (auth < 0.75) headers.push('Authorization: Bearer');
  else if (auth < 0.8) headers.push(`Authorization: Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`);
  else if (auth < 0.85) headers.push(`Authorization: ${randomText(random, 40).replace(/[\r\n]/g, '')}`);
  if (random() < 0.05) headers.push('User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0');
  if (random() < 0.3) headers.push('Content-Type: application/json');
  const framing = random();
  let mayStall = false;
  let payload = Buffer.from(body);
  if (framing < 0.7) headers.push(`Content-Length: ${payload.length}`);
  else if (framing < 0.75) {
    headers.push(`Content-Length: ${payload.length + 10}`); // a lie: the server waits, then the client closes
    mayStall = true;
  } else if (framing < 0.8) headers.push('Content-Length: -1');
  else if (framing < 0.85)
    headers.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`);
  else if (framing < 0.93) {
    headers.push('Transfer-Encoding: chunked');
    payload = Buffer.from(
      random() < 0.5 ? `${payload.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : `zz\r\n${body}\r\n`,
    );
  }
  if (random() < 0.02) headers.push(`X-Big: ${'b'.repeat(20000)}`);
  if (random() < 0.02) headers.push(`Bad Header Name: x`);
  const head = `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`;
  return { raw: Buffer.concat([Buffer.from(head), payload]), mayStall };
}

/** Sends `raw`, resolves with the status (0 when closed without an answer) or undefined after `waitMs`. */
export function send(port: number, raw: Buffer, waitMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, waitMs);
    const done = () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', done);
    socket.on('connect', () => socket.end(raw));
  });
}

/**
 * `requests` raw requests from `seed`, four at a time, against a ControlServer with a token. A request whose
 * Content-Length promised more than was sent is answered by nobody (the server waits for the rest): after
 * `waitMs` the client gives up, which is not a failure; any other silence is.
 */
export async function fuzzControl(seed: number, requests: number, waitMs = 2000): Promise<ControlFuzzResult> {
  const server = new ControlServer({ port: 0, seed, log: () => {}, token: TOKEN });
  const { port } = await server.start();
  const random = rng(seed);
  const result: ControlFuzzResult = {
    requests: 0,
    statuses: {},
    serverErrors: [],
    unanswered: [],
    healthyAfter: false,
  };
  try {
    for (let i = 0; i < requests; i += 4) {
      const batch = Array.from({ length: Math.min(4, requests - i) }, () => randomRequest(random));
      const statuses = await Promise.all(batch.map((r) => send(port, r.raw, waitMs)));
      statuses.forEach((status, j) => {
        result.requests++;
        const request = batch[j] as { raw: Buffer; mayStall: boolean };
        const raw = request.raw.toString('latin1');
        const key = status === undefined ? 'none' : String(status);
        result.statuses[key] = (result.statuses[key] ?? 0) + 1;
        if (status !== undefined && status >= 500) result.serverErrors.push(raw.slice(0, 300));
        if (status === undefined && !request.mayStall) result.unanswered.push(raw.slice(0, 300));
      });
    }
    const version = await fetch(`http://127.0.0.1:${port}/version`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await version.arrayBuffer();
    const reset = await fetch(`http://127.0.0.1:${port}/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await reset.arrayBuffer();
    result.healthyAfter = version.status === 200 && reset.status === 204;
  } finally {
    await server.stop();
  }
  return result;
}
