// The storage grid of incident 2, small: HTTP storage peers that each hold every share of every object
// (GET /share/<object>/<index>) and answer heartbeats (GET /hb), with a delay the demo or a test turns up
// to make one peer slow. And the client's two calls, over node:http with keep-alive.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StoragePeer {
  readonly name: string;
  readonly port: number;
  /** Delay before each share is sent (heartbeats stay fast: the process is alive, its disk is slow). */
  delayMs: number;
  /** Requests for shares received. */
  readonly served: number;
  close(): Promise<void>;
}

/** Starts one storage peer on `host` (port 0: the OS picks). */
export async function startStoragePeer(name: string, host = '127.0.0.1'): Promise<StoragePeer> {
  let served = 0;
  const peer = {
    name,
    port: 0,
    delayMs: 0,
    get served() {
      return served;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    const share = /^\/share\/(\d+)\/(\d+)$/.exec(request.url ?? '');
    if (request.url === '/hb') {
      response.writeHead(204).end();
      return;
    }
    if (share === null) {
      response.writeHead(404).end();
      return;
    }
    served++;
    const body = `${name}:${share[1]}:${share[2]}`;
    const send = (): void => {
      if (!response.destroyed) response.writeHead(200, { 'content-length': body.length }).end(body);
    };
    if (peer.delayMs > 0) setTimeout(send, peer.delayMs).unref();
    else send();
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, host);
  await once(server, 'listening');
  peer.port = (server.address() as AddressInfo).port;
  return peer;
}

export interface GridAddress {
  readonly host: string;
  readonly port: number;
}

// How long an abandoned request may take to finish so its keep-alive socket goes back to the pool; past
// it the request (and its socket) is destroyed.
const DRAIN_MS = 1000;

/**
 * GETs `path` from a peer and resolves with the body (rejects on a non-2xx status or the signal). Aborted
 * (a hedge that lost, a quorum that had its answers), it rejects at once but lets the answer arrive and
 * drains it, keeping the keep-alive socket, unless that takes longer than DRAIN_MS.
 */
export function get(
  agent: http.Agent,
  peer: GridAddress,
  path: string,
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let abandoned = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      abandoned = true;
      reject(signal?.reason);
      drainTimer = setTimeout(() => request.destroy(), DRAIN_MS);
      drainTimer.unref();
    };
    const request = http.get({ host: peer.host, port: peer.port, path, agent }, (response) => {
      if (abandoned) {
        response.resume();
        response.on('end', () => clearTimeout(drainTimer));
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(drainTimer);
        if (abandoned) return;
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(Buffer.concat(chunks).toString());
        else
          reject(
            Object.assign(new Error(`HTTP ${status} from ${peer.host}:${peer.port}`), {
              code: `HTTP_${status}`,
            }),
          );
      });
      response.on('error', reject);
    });
    request.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(drainTimer);
      reject(error);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A keep-alive agent whose connections the demo's pool charts can count (sockets by state, deaths by cause). */
export interface CountedAgent {
  readonly agent: http.Agent;
  /** Sockets serving a request, idle sockets, requests waiting for a socket, and sockets closed by cause. */
  sample(): { used: number; idle: number; pending: number; deaths: Readonly<Record<string, number>> };
}

function countAll(lists: NodeJS.ReadOnlyDict<readonly unknown[]>): number {
  let n = 0;
  for (const list of Object.values(lists)) n += list?.length ?? 0;
  return n;
}

export function countedAgent(): CountedAgent {
  const agent = new http.Agent({ keepAlive: true });
  const deaths: Record<string, number> = {};
  const create = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
  // Every socket the agent opens: a close counts under the error that caused it, else 'closed'.
  (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args) => {
    const socket = create(...args);
    let cause = 'closed';
    socket.once('error', (error: NodeJS.ErrnoException) => {
      cause = error.code ?? error.message;
    });
    socket.once('close', () => {
      deaths[cause] = (deaths[cause] ?? 0) + 1;
    });
    return socket;
  };
  return {
    agent,
    sample: () => ({
      used: countAll(agent.sockets),
      idle: countAll(agent.freeSockets),
      pending: countAll(agent.requests),
      deaths: { ...deaths },
    }),
  };
}
