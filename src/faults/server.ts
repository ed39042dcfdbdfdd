// The control server: Toxiproxy's HTTP API (same routes and JSON) over a ProxyCollection, plus metrics.
// (Past 400 lines: routing, body parsing, access checks and the Prometheus collectors of one HTTP server.)

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { Access, isLoopback } from './access.js';
import type { HostPort } from './address.js';
import { ProxyCollection } from './collection.js';
import { AddressInUseError, InvalidProxyError, InvalidToxicError } from './errors.js';
import { nestedDeeperThan } from './json-depth.js';
import type { FaultProxy } from './proxy.js';
import type { ToxicPatch, ToxicSpec } from './toxic.js';
import { packageVersion } from './version.js';

type PromClient = typeof import('prom-client');

export interface ControlServerOptions {
  /** Default 127.0.0.1: the API opens proxies to any address, so it stays on loopback unless told. */
  host?: string;
  /** Default 8474, Toxiproxy's port; 0 picks a free one. */
  port?: number;
  /** Seed for every proxy created through this server (each derives its own from it and its name). */
  seed?: number;
  /** Where log lines go. Default: stderr. */
  log?: (line: string) => void;
  /**
   * When set, every request must carry `Authorization: Bearer <token>` (compared in constant time); others
   * get 401. Default: none, as Toxiproxy (any client that reaches the port drives the API).
   */
  token?: string;
  /**
   * Proxies created or moved through the API may listen only on loopback unless this is true (403
   * otherwise). Proxies from populate() called in code (a --config file) are not limited. Default false.
   */
  allowRemoteListen?: boolean;
}

const MAX_BODY_BYTES = 1 << 20;
/** The API's own bodies nest 2 levels (populate: array of proxies; toxic: object with attributes). */
const MAX_BODY_DEPTH = 32;

/** Toxiproxy's error body: `{"error": "...", "status": 404}`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// Status and, where Toxiproxy has a fixed message, that message, so clients see exactly what they expect.
const statusByCode: Record<string, { status: number; message?: string }> = {
  LIFELINE_PROXY_EXISTS: { status: 409, message: 'proxy already exists' },
  LIFELINE_PROXY_NOT_FOUND: { status: 404, message: 'proxy not found' },
  LIFELINE_TOXIC_EXISTS: { status: 409, message: 'toxic already exists' },
  LIFELINE_TOXIC_NOT_FOUND: { status: 404, message: 'toxic not found' },
  LIFELINE_INVALID_TOXIC: { status: 400 },
  LIFELINE_INVALID_PROXY: { status: 400 },
  LIFELINE_ADDRESS_IN_USE: { status: 409 },
};

function proxyJson(proxy: FaultProxy): ReturnType<FaultProxy['toJSON']> {
  return proxy.toJSON();
}

/**
 * The Toxiproxy-compatible control API: same routes, JSON shapes, status codes and error bodies, so
 * existing Toxiproxy clients drive lifeline's proxies unchanged. Toxics take an extra `target` field.
 */
export class ControlServer {
  readonly proxies: ProxyCollection;
  private readonly server: http.Server;
  private readonly log: (line: string) => void;
  /** Per connection, the request being handled: the next one waits for it (HTTP pipelining). */
  private readonly queues = new WeakMap<Socket, Promise<void>>();
  private readonly access: Access;
  private metrics:
    | Promise<{ prom: PromClient; registry: InstanceType<PromClient['Registry']> } | null>
    | undefined;

  constructor(private readonly options: ControlServerOptions = {}) {
    this.access = new Access(options);
    this.proxies = new ProxyCollection(options.seed === undefined ? {} : { seed: options.seed });
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    // Requests pipelined on one connection are handled one after the other, in order, as Toxiproxy's Go
    // server does: a create followed by a delete must find the proxy.
    this.server = http.createServer((request, response) => {
      const previous = this.queues.get(request.socket) ?? Promise.resolve();
      const current = previous
        .then(() => this.handle(request, response))
        .catch((error: unknown) => this.fail(response, error));
      this.queues.set(request.socket, current);
    });
  }

  /** Loads a populate-format list (Toxiproxy's --config file). */
  populate(configs: unknown): Promise<FaultProxy[]> {
    return this.proxies.populate(configs);
  }

  async start(): Promise<HostPort> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new AddressInUseError(`${host}:${this.options.port ?? 8474}`, { cause: error })
            : error,
        ),
      );
      this.server.listen({ host, port: this.options.port ?? 8474 }, () => {
        this.server.removeAllListeners('error');
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    const where = isLoopback(host)
      ? 'loopback only; use --host to expose it'
      : 'NOT loopback: anyone who can reach it can open proxies to any address';
    const auth = !this.access.tokenRequired
      ? 'no token: any client that reaches it drives it'
      : 'bearer token required';
    this.log(
      `lifeline proxy: control API listening on http://${host.includes(':') ? `[${host}]` : host}:${port} (${where}; ${auth})`,
    );
    return { host, port };
  }

  async stop(): Promise<void> {
    await this.proxies.stopAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // As Toxiproxy does: a web page must not be able to drive the API through the user's browser.
    if (request.headers['user-agent']?.startsWith('Mozilla/'))
      throw new ApiError(403, 'User agent not allowed');
    this.authorize(request);
    let url: URL;
    try {
      // A target starting with `//` parses as a host: refused here as a bad path, not a 500.
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      throw new ApiError(400, 'malformed path');
    }
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new ApiError(400, `malformed path: ${url.pathname}`);
    }
    const method = request.method ?? 'GET';
    const [root, proxyName, sub, toxicName, extra] = parts;
    const route = (methods: Record<string, () => Promise<void> | void>): Promise<void> | void => {
      const action = methods[method];
      if (!action) throw new ApiError(405, `method ${method} not allowed on ${url.pathname}`);
      return action();
    };
    const send = (status: number, body?: unknown) => this.send(response, status, body);

    if (extra !== undefined) throw new ApiError(404, 'not found');
    if (root === 'version' && proxyName === undefined) {
      return route({ GET: () => send(200, { version: packageVersion() }) });
    }
    if (root === 'metrics' && proxyName === undefined) {
      return route({ GET: () => this.sendMetrics(response) });
    }
    if (root === 'reset' && proxyName === undefined) {
      return route({
        POST: async () => {
          await this.proxies.reset();
          send(204);
        },
      });
    }
    if (root === 'populate' && proxyName === undefined) {
      return route({
        POST: async () => {
          const proxies = await this.proxies.populate(this.checkListen(await this.body(request)));
          send(201, { proxies: proxies.map(proxyJson) });
        },
      });
    }
    if (root !== 'proxies') throw new ApiError(404, 'not found');
    if (proxyName === undefined) {
      return route({
        GET: () => send(200, Object.fromEntries(this.proxies.list().map((p) => [p.name, proxyJson(p)]))),
        POST: async () =>
          send(201, proxyJson(await this.proxies.create(this.checkListen(await this.body(request))))),
      });
    }
    if (sub === undefined) {
      const update = async () =>
        send(
          200,
          proxyJson(await this.proxies.update(proxyName, this.checkListen(await this.body(request)))),
        );
      return route({
        GET: () => send(200, proxyJson(this.proxies.get(proxyName))),
        POST: update,
        PATCH: update,
        DELETE: async () => {
          await this.proxies.remove(proxyName);
          send(204);
        },
      });
    }
    if (sub !== 'toxics') throw new ApiError(404, 'not found');
    const proxy = this.proxies.get(proxyName);
    if (toxicName === undefined) {
      return route({
        GET: () => send(200, proxy.toxics()),
        POST: async () => send(200, proxy.addToxic((await this.body(request)) as ToxicSpec)),
      });
    }
    const update = async () =>
      send(200, proxy.updateToxic(toxicName, (await this.body(request)) as ToxicPatch));
    return route({
      GET: () => send(200, proxy.toxic(toxicName)),
      POST: update,
      PATCH: update,
      DELETE: () => {
        proxy.removeToxic(toxicName);
        send(204);
      },
    });
  }

  /** 401 unless the request carries the server's bearer token (when it has one). */
  private authorize(request: http.IncomingMessage): void {
    if (this.access.authorized(request.headers.authorization)) return;
    throw new ApiError(
      401,
      'unauthorized: this control API needs "Authorization: Bearer <token>" (lifeline proxy: --token or $LIFELINE_PROXY_TOKEN)',
      { 'WWW-Authenticate': 'Bearer realm="lifeline proxy"' },
    );
  }

  /**
   * 403 for a proxy asked to listen off loopback, unless the server allows it: the API would otherwise let
   * any client open a port to the network that relays to any upstream.
   */
  private checkListen(body: unknown): unknown {
    const listen = this.access.forbiddenListen(body);
    if (listen === undefined) return body;
    throw new ApiError(
      403,
      `listen ${listen}: proxies created through the API may listen only on loopback (127.0.0.1, ::1, localhost); start the server with --allow-remote-listen to allow other addresses`,
    );
  }

  /**
   * Reads and parses a JSON body; malformed JSON is Toxiproxy's "bad request body" 400, and so is JSON
   * nested deeper than any body of the API (checked before parsing).
   */
  private async body(request: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        throw new ApiError(413, `bad request body: larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') throw new ApiError(400, 'bad request body: empty, expected JSON');
    if (nestedDeeperThan(text, MAX_BODY_DEPTH))
      throw new ApiError(400, `bad request body: JSON nested deeper than ${MAX_BODY_DEPTH} levels`);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ApiError(400, `bad request body: ${(error as Error).message}`);
    }
  }

  private send(response: http.ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      response.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  private fail(response: http.ServerResponse, error: unknown): void {
    let status = 500;
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof ApiError) status = error.status;
    else if (error instanceof LifelineError) {
      const known = statusByCode[error.code];
      if (known) {
        status = known.status;
        // Toxiproxy's fixed text, or the invalid-field errors' first part alone (apiMessage): the body keeps
        // the wording Toxiproxy clients expect, while the thrown error's message adds what to do.
        message =
          known.message ??
          (error instanceof InvalidProxyError || error instanceof InvalidToxicError
            ? error.apiMessage
            : message);
      }
    }
    if (status === 500) this.log(`lifeline proxy: internal error: ${message}`);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof ApiError)
      for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
    this.send(response, status, { error: message, status });
  }

  private async sendMetrics(response: http.ServerResponse): Promise<void> {
    this.metrics ??= this.createMetrics();
    const metrics = await this.metrics;
    if (!metrics)
      throw new ApiError(
        501,
        'metrics need the prom-client package, which could not be loaded: reinstall lifeline (npm install)',
      );
    const text = await metrics.registry.metrics();
    response.writeHead(200, { 'Content-Type': metrics.registry.contentType });
    response.end(text);
  }

  /**
   * prom-client (a dependency of lifeline) is loaded on the first scrape, and only here, so importing
   * lifeline-net/faults or running a proxy never loads it. null when it cannot load (a broken install).
   */
  private async createMetrics(): Promise<{
    prom: PromClient;
    registry: InstanceType<PromClient['Registry']>;
  } | null> {
    let prom: PromClient;
    try {
      prom = await import('prom-client');
    } catch {
      return null;
    }
    const registry = new prom.Registry();
    const proxies = () => this.proxies.list();
    const streamLabels = (p: FaultProxy, direction: string) => ({
      proxy: p.name,
      listener: p.listen,
      upstream: p.upstream,
      direction,
    });
    // Toxiproxy's own metric names, so existing dashboards keep working.
    for (const [name, help, field] of [
      ['toxiproxy_proxy_received_bytes_total', 'Bytes read from the source of each stream', 'received'],
      ['toxiproxy_proxy_sent_bytes_total', 'Bytes written to the destination of each stream', 'sent'],
    ] as const) {
      new prom.Counter({
        name,
        help,
        labelNames: ['proxy', 'listener', 'upstream', 'direction'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of proxies()) {
            const stats = p.stats();
            this.inc(streamLabels(p, 'upstream'), stats[field].upstream);
            this.inc(streamLabels(p, 'downstream'), stats[field].downstream);
          }
        },
      });
    }
    new prom.Counter({
      name: 'lifeline_proxy_connections_total',
      help: 'Connections accepted by each proxy',
      labelNames: ['proxy'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of proxies()) this.inc({ proxy: p.name }, p.stats().connectionsTotal);
      },
    });
    for (const [name, help, value] of [
      [
        'lifeline_proxy_open_connections',
        'Connections open through each proxy',
        (p: FaultProxy) => p.stats().connectionsOpen,
      ],
      ['lifeline_proxy_toxics', 'Toxics on each proxy', (p: FaultProxy) => p.toxics().length],
      [
        'lifeline_proxy_enabled',
        '1 if the proxy accepts connections',
        (p: FaultProxy) => (p.enabled ? 1 : 0),
      ],
    ] as const) {
      new prom.Gauge({
        name,
        help,
        labelNames: ['proxy'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of proxies()) this.set({ proxy: p.name }, value(p));
        },
      });
    }
    return { prom, registry };
  }
}
brand(ControlServer, 'ControlServer');
