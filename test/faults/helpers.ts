import { once } from 'node:events';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { ControlServer, FaultProxy, type FaultProxyOptions } from '../../src/faults/index.js';
import type { Sink, StageContext } from '../../src/faults/toxic.js';

/**
 * A TCP server on an ephemeral loopback port; close() destroys every socket it accepted. The test's end
 * closes it, pass or fail.
 */
export async function tcpServer(
  t: TestContext,
  onSocket: (socket: net.Socket) => void,
  options: net.ServerOpts = {},
) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(options, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return { address: `127.0.0.1:${port}`, port, sockets, close };
}

export function echoServer(t: TestContext) {
  return tcpServer(t, (socket) => socket.pipe(socket));
}

/** Everything a client socket saw, in order. */
export interface Observed {
  socket: net.Socket;
  chunks: Buffer[];
  text(): string;
  bytes(): number;
  /** Resolves with 'end' (FIN), or with the error code if the socket errored first. */
  finished: Promise<string>;
  closed: Promise<void>;
  /** Resolves once at least n bytes have arrived. */
  received(n: number): Promise<void>;
}

export function observe(socket: net.Socket): Observed {
  const chunks: Buffer[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let total = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    for (const w of [...waiters]) {
      if (total >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const finished = new Promise<string>((resolve) => {
    socket.once('end', () => resolve('end'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    chunks,
    text: () => Buffer.concat(chunks).toString('latin1'),
    bytes: () => total,
    finished,
    closed,
    received: (n) =>
      total >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

export async function connect(port: number, options: Partial<net.NetConnectOpts> = {}): Promise<Observed> {
  const socket = net.connect({ host: '127.0.0.1', port, ...options } as net.NetConnectOpts);
  const observed = observe(socket);
  await once(socket, 'connect');
  return observed;
}

/** A started proxy in front of `upstream` (seed 1 unless given); the test's end stops it, pass or fail. */
export async function proxyTo(t: TestContext, upstream: string, options: Partial<FaultProxyOptions> = {}) {
  const proxy = new FaultProxy({ upstream, seed: 1, ...options });
  const { port } = await proxy.start();
  t.after(() => proxy.stop());
  return { proxy, port };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, polling; the test's own timeout bounds it. */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(5);
}

/** A control API on a free loopback port, stopped when the test ends, and a JSON `call` helper for it. */
export async function startApi(t: TestContext, seed?: number) {
  const logs: string[] = [];
  const api = new ControlServer({
    port: 0,
    log: (line) => logs.push(line),
    ...(seed === undefined ? {} : { seed }),
  });
  const { port } = await api.start();
  t.after(() => api.stop());
  const base = `http://127.0.0.1:${port}`;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    raw?: string,
    headers: Record<string, string> = {},
  ) => {
    const hasBody = body !== undefined || raw !== undefined;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: hasBody ? { 'content-type': 'application/json', ...headers } : headers,
      ...(hasBody ? { body: raw ?? JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      body: type.includes('json') && text ? (JSON.parse(text) as unknown) : text,
    };
  };
  return { api, base, port, call, logs };
}

/** For driving one toxic's stage directly: records what it passes on and what it does to its connection. */
export function stageHarness() {
  const written: Buffer[] = [];
  const actions: string[] = [];
  const sink: Sink = { write: (chunk) => written.push(chunk), end: () => actions.push('end') };
  const context: StageContext = {
    openedAt: Date.now(),
    random: () => 0.99,
    reset: () => actions.push('reset'),
    close: (mode = 'fin') => actions.push(`close ${mode}`),
    endDestination: () => actions.push('endDestination'),
    stallSource: (stalled) => actions.push(`stall ${stalled}`),
    discard: () => {},
  };
  return { written, actions, sink, context };
}
