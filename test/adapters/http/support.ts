// Real origins for the lifeline-net/http tests: a node:http (or https) server that closes every socket idle
// for `idleCloseMs` with its own timer (Node's keepAliveTimeout adds a second and advertises a hint, so it is
// off), optionally advertising `Keep-Alive: timeout=`, and counting each request id it processed; in front
// of it, lifeline's fault proxy.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { TestContext } from 'node:test';
import { FaultProxy } from '../../../src/faults/index.js';
import { sleep, tcpServer } from '../../faults/helpers.js';
import { selfSignedCertificate } from '../../socket/support.js';

export interface OriginOptions {
  /** The server closes a socket once it has been idle this long (its own timer). */
  idleCloseMs: number;
  /** Sent as `Keep-Alive: timeout=<hintSeconds>` on every response. */
  hintSeconds?: number;
  /** Serve HTTPS with this certificate. */
  tls?: { key: string; cert: string };
}

export interface Origin {
  /** The proxy's URL (what clients use). */
  url: string;
  proxy: FaultProxy;
  /** How many times the server processed each `x-request-id`. */
  seen: Map<string, number>;
  /** Sockets the server closed for idleness. */
  idleCloses(): number;
}

export async function startOrigin(t: TestContext, options: OriginOptions): Promise<Origin> {
  const seen = new Map<string, number>();
  let idleCloses = 0;
  const timers = new WeakMap<net.Socket, NodeJS.Timeout>();
  const handle = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket;
    clearTimeout(timers.get(socket));
    const id = request.headers['x-request-id'];
    request.resume();
    request.on('end', () => {
      if (typeof id === 'string') seen.set(id, (seen.get(id) ?? 0) + 1);
      if (options.hintSeconds !== undefined)
        response.setHeader('keep-alive', `timeout=${options.hintSeconds}`);
      response.end('ok');
    });
    response.on('finish', () => {
      timers.set(
        socket,
        setTimeout(() => {
          idleCloses++;
          socket.destroy();
        }, options.idleCloseMs),
      );
    });
  };
  const web = options.tls ? https.createServer(options.tls, handle) : http.createServer(handle);
  // No Node keep-alive timer (it would add a second) and no hint unless the test sets one.
  web.keepAliveTimeout = 0;
  const server = await tcpServer(t, (socket) => web.emit('connection', socket));
  const proxy = new FaultProxy({ upstream: server.address, seed: 13 });
  const { port } = await proxy.start();
  t.after(() => proxy.stop());
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    proxy,
    seen,
    idleCloses: () => idleCloses,
  };
}

/**
 * Makes the race deterministic: a request that reaches the proxy on a connection idle for `idleMs` or more
 * is discarded and both sides are reset, exactly what a server closing that socket at that moment does.
 */
export function resetIdleRequests(origin: Origin, idleMs: number): void {
  origin.proxy.addToxic({
    name: 'idle-race',
    type: 'reset_peer',
    stream: 'upstream',
    attributes: { timeout: 0 },
    target: { idleMs },
  });
}

/** A seeded generator of uniform draws in [0, 1) (mulberry32), so a schedule is the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export type Send = (method: 'GET' | 'POST', id: string, headers?: Record<string, string>) => Promise<unknown>;

export interface RaceResult {
  errors: unknown[];
  sent: number;
}

/**
 * `count` requests, each sent after the connection sat idle between `fromMs` and `toMs` (seeded). The first
 * request opens the connection. Errors are collected, not thrown.
 */
export async function raceRun(
  send: Send,
  method: 'GET' | 'POST',
  count: number,
  window: { fromMs: number; toMs: number; seed: number; prefix: string },
): Promise<RaceResult> {
  const random = seeded(window.seed);
  const errors: unknown[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(window.fromMs + random() * (window.toMs - window.fromMs));
    try {
      await send(method, `${window.prefix}-${i}`);
    } catch (error) {
      errors.push(error);
    }
  }
  return { errors, sent: count };
}

/** Every request id the server processed more than once. */
export function doubled(origin: Origin): string[] {
  return [...origin.seen].filter(([, n]) => n > 1).map(([id]) => id);
}

let certificate: { key: string; cert: string } | undefined;
/** One self-signed certificate for the whole file. */
export function certificateOnce(): { key: string; cert: string } {
  certificate ??= selfSignedCertificate();
  return certificate;
}
