// The soak's HTTP workloads: lifeline-net/http's Agent against a local node:http origin through the fault proxy
// (unique-id POSTs counted by the server; GET and PUT, idempotent, retried by the Agent), and lifeline-net/peers'
// quorum writes over three local HTTP peers, one of them behind the fault proxy.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { Agent, HttpAgent } from '../src/adapters/http/index.js';
import { PeerSet } from '../src/peers/index.js';
import { IdCounts } from './ids.js';
import { SOCKET, tally, type Workload } from './workloads.js';

/** A node:http server that counts what it applied: each POSTed id, each PUT key, and its open connections. */
export class Origin {
  readonly items = new IdCounts();
  readonly kv = new Map<string, string>();
  open = 0;
  readonly #server = http.createServer((req, res) => this.#handle(req, res));

  constructor() {
    this.#server.on('connection', (socket) => {
      this.open++;
      socket.once('close', () => this.open--);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/items') {
        const id = Number(body);
        if (!Number.isSafeInteger(id) || id < 0) {
          res.statusCode = 400;
          res.end();
          return;
        }
        this.items.add(id);
        res.end('ok');
      } else if (req.method === 'PUT' && url.startsWith('/kv/')) {
        this.kv.set(url.slice(4), body);
        res.end('ok');
      } else if (req.method === 'GET' && url === '/count') {
        res.end(String(this.items.size));
      } else if (req.method === 'GET' && url === '/health') {
        res.end('ok');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  }
}

/** One node:http request; resolves with the body of a 200, rejects on anything else. */
function call(
  agent: http.Agent,
  address: string,
  method: string,
  path: string,
  body: string,
  signal: AbortSignal,
): Promise<string> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        method,
        path,
        agent,
        signal,
        headers: { 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${method} ${path}: response cut short`));
          else if (res.statusCode !== 200) reject(new Error(`${method} ${path}: status ${res.statusCode}`));
          else resolve(text);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** lifeline-net/http's Agent (undici): POST /items (not idempotent), GET /count and PUT /kv/n (idempotent). */
export function httpWorkload(): Workload {
  const origin = new Origin();
  let upstream = '';
  let base = '';
  let agent: Agent | undefined;
  let puts = 0;
  const ackedPuts = new Set<string>();
  const need = () => {
    if (!agent) throw new Error('http workload not opened');
    return agent;
  };
  const send = async (method: 'GET' | 'PUT' | 'POST', path: string, body?: string) => {
    const res = await request(`${base}${path}`, { method, body, dispatcher: need() });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${path}: status ${res.statusCode}`);
    return text;
  };
  return {
    name: 'http',
    get upstream() {
      return upstream;
    },
    boundMs: 8000,
    async setup() {
      upstream = await origin.start();
    },
    open(host, port) {
      base = `http://${host}:${port}`;
      agent = new Agent({
        connections: 4,
        connectTimeout: 1000,
        headersTimeout: 3000,
        bodyTimeout: 3000,
        lifeline: { deadlineMs: 3000, socket: SOCKET },
      });
    },
    async write(id) {
      await send('POST', '/items', String(id));
    },
    async read() {
      if (puts % 2 === 0) {
        // 1024 keys over and over: PUT is idempotent, and the origin's state stays bounded.
        const key = String(puts++ % 1024);
        await send('PUT', `/kv/${key}`, key);
        ackedPuts.add(key);
      } else {
        puts++;
        await send('GET', '/count');
      }
    },
    async close() {
      await agent?.destroy();
    },
    async verify(acked) {
      const { lost, duplicated } = tally(acked, origin.items);
      let lostPuts = 0;
      for (const key of ackedPuts) if (origin.kv.get(key) !== key) lostPuts++;
      return { lost: lost + lostPuts, duplicated };
    },
    serverConnections: () => origin.open,
    teardown: () => origin.stop(),
  };
}

/**
 * lifeline-net/peers: quorum(2) POSTs over three local HTTP peers (node:http through lifeline's HttpAgent);
 * peer 0 is reached through the fault proxy, the others directly. An acknowledged id must be on at least two
 * peers; no peer may apply an id twice (the PeerSet never asks a peer twice for one call).
 */
export function peersWorkload(): Workload {
  const origins = [new Origin(), new Origin(), new Origin()];
  const addresses: string[] = [];
  let set: PeerSet<string> | undefined;
  let agent: HttpAgent | undefined;
  const need = () => {
    if (!set || !agent) throw new Error('peers workload not opened');
    return { set, agent };
  };
  return {
    name: 'peers',
    get upstream() {
      return addresses[0] ?? '';
    },
    boundMs: 8000,
    async setup() {
      for (const o of origins) addresses.push(await o.start());
    },
    open(host, port) {
      const members = [`${host}:${port}`, ...addresses.slice(1)];
      agent = new HttpAgent({ keepAlive: true, maxSockets: 8, lifeline: { socket: SOCKET } });
      const a = agent;
      set = new PeerSet<string>({
        members,
        heartbeat: {
          intervalMs: 500,
          send: (peer, signal) => call(a, peer, 'GET', '/health', '', signal),
        },
        maxCallTimeoutMs: 2000,
        logger: () => {},
      });
    },
    async write(id) {
      const { set: s, agent: a } = need();
      await s.quorum(2, (peer, signal) => call(a, peer, 'POST', '/items', String(id), signal), {
        deadlineMs: 3000,
      });
    },
    async read() {
      const { set: s, agent: a } = need();
      await s.any((peer, signal) => call(a, peer, 'GET', '/count', '', signal), { deadlineMs: 3000 });
    },
    async close() {
      set?.close();
      agent?.destroy();
    },
    async verify(acked) {
      let lost = 0;
      for (const id of acked) {
        if (origins.filter((o) => o.items.has(id)).length < 2) lost++;
      }
      let duplicated = 0;
      for (const o of origins) for (const [, n] of o.items.entries()) if (n > 1) duplicated++;
      return { lost, duplicated };
    },
    serverConnections: () => origins.reduce((s, o) => s + o.open, 0),
    async teardown() {
      await Promise.all(origins.map((o) => o.stop()));
    },
  };
}
