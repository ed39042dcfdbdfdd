// The demo's HTTP driver: `lifeline demo --driver http`. The target is an HTTP server embedded in the demo
// (node:http on a loopback port; it closes a keep-alive socket idle for 2 s with its own timer and sends no
// Keep-Alive hint, like nginx); the workload is a GET of an item and a POST of a unique id; the server counts
// every write it applied, by id, for the audit.
//
// naive: undici's Agent as most services run it, with the usual retry loop around writes (incident 3's
// blind retries). lifeline: lifeline-net/http's Agent: reads sent again after a loss, a write whose outcome
// is unknown reported (OutcomeUnknownError), never sent again.
//
// Its own scenario, keepalive-race: the keep-alive reuse race, made deterministic by the proxy (a request
// reaching a connection idle for 30 ms or more is reset, as a server closing that socket at that moment does).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, Agent as UndiciAgent } from 'undici';
import { Agent } from '../../adapters/http/index.js';
import type { DemoDriver, DemoTarget, Side, SideOptions, WriteAudit } from '../driver.js';
import { CauseCounts, countExecRetries, deathCause } from '../metrics.js';
import { SCENARIOS, type Scenario } from '../scenarios.js';
import { ITEMS } from '../workload.js';

const IDLE_CUT_MS = 2000;
const NAIVE_WRITE_ATTEMPTS = 3;

interface Embedded {
  port: number;
  /** Writes applied, by `runId side` and id. */
  writes: Map<string, Map<number, number>>;
  close(): Promise<void>;
}

async function startServer(): Promise<Embedded> {
  const writes = new Map<string, Map<number, number>>();
  const idle = new WeakMap<import('node:net').Socket, NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    clearTimeout(idle.get(req.socket));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST') {
        const run = String(req.headers['x-run']);
        const id = Number(Buffer.concat(chunks).toString());
        const counts = writes.get(run) ?? new Map<number, number>();
        writes.set(run, counts);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        res.end('ok');
      } else {
        const key = Number(req.url?.split('/').pop());
        res.statusCode = key >= 1 && key <= ITEMS ? 200 : 404;
        res.end(`item ${key}`);
      }
    });
    res.on('finish', () => {
      const socket = req.socket;
      idle.set(
        socket,
        setTimeout(() => socket.destroy(), IDLE_CUT_MS),
      );
    });
  });
  server.keepAliveTimeout = 0; // its own idle cut, no hint (Node's would advertise one and add a second)
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    writes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function side(
  name: Side['name'],
  dispatcher: UndiciAgent,
  options: SideOptions,
  writeAttempts: number,
): Side {
  const origin = `http://${options.proxy.host}:${options.proxy.port}`;
  const run = `${options.runId} ${name}`;
  // For the report's pool charts: undici's per-origin counts, its disconnects by error, the retries (the
  // write loop's; for lifeline, also exec's).
  const deaths = new CauseCounts();
  dispatcher.on('disconnect', (_origin, _targets, error) => deaths.add(deathCause(error)));
  let retries = 0;
  const execRetries = name === 'lifeline' ? countExecRetries() : undefined;
  const send = async (method: 'GET' | 'POST', path: string, body?: string) => {
    const response = await request(`${origin}${path}`, {
      method,
      dispatcher,
      headers: { 'x-run': run },
      ...(body === undefined ? {} : { body }),
    });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
  };
  return {
    name,
    maxOpMs: name === 'lifeline' ? options.queryDeadlineMs : undefined,
    app: {
      read: (key) => send('GET', `/items/${key}`),
      async write(id) {
        for (let attempt = 1; ; attempt++) {
          try {
            await send('POST', '/writes', String(id));
            return;
          } catch (error) {
            if (attempt >= writeAttempts) throw error;
            retries++;
          }
        }
      },
    },
    close: () => {
      execRetries?.stop();
      return dispatcher.destroy();
    },
    poolSample: () => {
      const sample = { used: 0, idle: 0, pending: 0, deaths: deaths.counts, retries: 0 };
      // An Agent's stats are one pool's per origin (a Client's, with no `free`, only under other options).
      for (const value of Object.values(dispatcher.stats)) {
        const stats = value as unknown as { connected: number; free: number; pending: number };
        sample.used += stats.connected - stats.free;
        sample.idle += stats.free;
        sample.pending += stats.pending;
      }
      sample.retries = retries + (execRetries?.count ?? 0);
      return sample;
    },
  };
}

const keepaliveRace: Scenario = {
  name: 'keepalive-race',
  title: 'Keep-alive reuse race',
  incident: '3',
  fault:
    'A request that reaches a connection idle for 30 ms or more is reset: the server closing an idle keep-alive socket as the client reuses it.',
  kind: 'read',
  script: async (c) => {
    await c.at(c.timing.faultAtMs);
    await c.all((p) =>
      p.addToxic({
        name: 'keepalive-race',
        type: 'reset_peer',
        stream: 'upstream',
        attributes: { timeout: 0 },
        target: { idleMs: 30 },
      }),
    );
  },
};

const SETUP_HTML = `<b>undici's Agent</b> runs with its defaults and a retry loop around writes (the blind retries of
incident 3). <b>lifeline-net/http</b>'s Agent watches every pooled socket and classifies each failure by what the
server could have seen: reads are sent again after a loss, a write whose outcome is unknown is reported, never
sent again. The server is embedded in the demo: node:http, closing keep-alive sockets idle for 2 s, no hint.`;

export const httpDriver: DemoDriver = {
  name: 'http',
  labels: {
    naive: "undici's Agent",
    lifeline: 'lifeline-net/http',
    read: 'GETs of items',
    write: 'POSTs of unique ids',
    setupHtml: SETUP_HTML,
  },
  scenarios: [...SCENARIOS, keepaliveRace],
  urlExample: '(none: the http driver runs against its own embedded server)',
  defaultTarget: 'an HTTP server embedded in the demo (node:http on loopback)',
  checkUrl: () => 'is not supported by the http driver: it runs against its own embedded server',
  async start({ onProgress }): Promise<DemoTarget> {
    onProgress('starting the embedded HTTP server…');
    const server = await startServer();
    return {
      description: `embedded node:http server, 127.0.0.1:${server.port}`,
      upstream: `127.0.0.1:${server.port}`,
      side(name, options) {
        return name === 'naive'
          ? side(name, new UndiciAgent({ connections: options.poolSize }), options, NAIVE_WRITE_ATTEMPTS)
          : side(
              name,
              new Agent({
                connections: options.poolSize,
                lifeline: {
                  deadlineMs: options.queryDeadlineMs,
                  socket: {
                    keepaliveIdleMs: 1000,
                    keepaliveIntervalMs: 1000,
                    keepaliveCount: 3,
                    userTimeoutMs: 3000,
                  },
                },
              }),
              options,
              1,
            );
      },
      async auditWrites(runId, name, acknowledged): Promise<WriteAudit> {
        const counts = server.writes.get(`${runId} ${name}`) ?? new Map<number, number>();
        let lost = 0;
        for (const id of acknowledged) if (!counts.has(id)) lost++;
        let doubled = 0;
        for (const n of counts.values()) if (n > 1) doubled++;
        return { lost, doubled };
      },
      cleanup: async () => {},
      stop: () => server.close(),
    };
  },
};
