// A node:http Agent made lifeline's: watched sockets, and no socket reused past the server's idle cut (node:http
// gives an agent no way to send a written request again; see docs/http.md).

import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { brand } from '../../core/brand.js';
import { MAX_TIMER_MS, type OptionRules } from '../../core/options.js';
import type { LiveSocketOptions } from '../../socket/index.js';
import { keepAliveHintMs, OriginIdle, SocketWatch } from './idle.js';
import { checkLifelineOptions } from './options.js';

/** What lifeline adds to a node:http Agent. */
export interface NodeAgentLifelineOptions {
  /** Every origin's idle cut, when known. */
  idleCutMs?: number;
  /** Learn each origin's idle cut from the FINs seen on idle sockets. Default true. */
  learnIdleCut?: boolean;
  /** How each pooled socket is watched (LiveSocket options). */
  socket?: LiveSocketOptions;
}

export interface HttpAgentOptions extends http.AgentOptions {
  lifeline?: NodeAgentLifelineOptions;
}

export interface HttpsAgentOptions extends https.AgentOptions {
  lifeline?: NodeAgentLifelineOptions;
}

const RULES: OptionRules = {
  idleCutMs: { kind: 'number', min: 1, max: MAX_TIMER_MS },
  learnIdleCut: { kind: 'boolean' },
  socket: { kind: 'object', rules: {}, open: true },
};

/** The response a socket carried last, as node:http keeps it while the socket is being freed. */
function keepAliveHintOf(socket: net.Socket): number | undefined {
  const request: unknown = Reflect.get(socket, '_httpMessage');
  const response: unknown = request instanceof http.ClientRequest ? Reflect.get(request, 'res') : undefined;
  return response instanceof http.IncomingMessage
    ? keepAliveHintMs(response.headers['keep-alive'])
    : undefined;
}

/** Shared by HttpAgent and HttpsAgent: one origin table and the three node:http Agent hooks. */
class Watcher {
  readonly #origins = new Map<string, OriginIdle>();
  readonly #socket: LiveSocketOptions;
  readonly #cutMs: number | undefined;
  readonly #learn: boolean;

  constructor(options: NodeAgentLifelineOptions | undefined, owner: string) {
    const given = checkLifelineOptions<NodeAgentLifelineOptions>(owner, 'lifeline', options, RULES);
    this.#socket = given.socket ?? {};
    this.#cutMs = options?.idleCutMs;
    this.#learn = options?.learnIdleCut ?? true;
  }

  watch(socket: net.Socket, name: string): void {
    let origin = this.#origins.get(name);
    if (origin === undefined) {
      origin = new OriginIdle(this.#cutMs, this.#learn);
      this.#origins.set(name, origin);
    }
    SocketWatch.watch(socket, origin, this.#socket).busy();
  }

  /** A socket becomes free: keep it only when alive, and start its idle clock. */
  keep(socket: net.Socket): boolean {
    const watch = SocketWatch.of(socket);
    if (watch === undefined) return true;
    watch.rested(keepAliveHintOf(socket));
    return watch.reusable;
  }

  reuse(socket: net.Socket): void {
    SocketWatch.of(socket)?.busy();
  }
}

function nameOf(agent: http.Agent, options: http.ClientRequestArgs): string {
  return agent.getName(options as http.ClientRequestArgs & { host: string });
}

const watchers = new WeakMap<http.Agent, Watcher>();

/** node:http's createConnection as both Agents have it (typed loosely by @types/node). */
type CreateConnection = (
  this: http.Agent,
  options: http.ClientRequestArgs,
  callback?: (error: Error | null, socket: Duplex) => void,
) => net.Socket;

/** The three hooks node:http gives an Agent, shared by HttpAgent and HttpsAgent. */
const hooks = {
  createConnection(
    agent: http.Agent,
    base: CreateConnection,
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex {
    const socket = base.call(agent, options, callback);
    watchers.get(agent)?.watch(socket, nameOf(agent, options));
    return socket;
  },
  keepSocketAlive(agent: http.Agent, kept: unknown, socket: Duplex): boolean {
    // node:http returns whether it keeps the socket, though @types/node says void.
    return kept !== false && (watchers.get(agent)?.keep(socket as net.Socket) ?? true);
  },
  reuseSocket(agent: http.Agent, socket: Duplex): void {
    watchers.get(agent)?.reuse(socket as net.Socket);
  },
};

/**
 * node:http's Agent (keep-alive on by default) with every pooled socket watched by a LiveSocket: a socket the
 * server closed leaves the pool on the FIN or reset, and one idle for nearly the server's idle cut (its
 * `Keep-Alive: timeout=` hint, or the cut learned from earlier closes) is closed before it can be reused.
 * node:http gives an agent no way to retry a request already written: see docs/http.md.
 */
export class HttpAgent extends http.Agent {
  constructor(options: HttpAgentOptions = {}) {
    const { lifeline, ...node } = options;
    const watcher = new Watcher(lifeline, 'HttpAgent');
    super({ keepAlive: true, ...node });
    watchers.set(this, watcher);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex {
    const base = http.Agent.prototype.createConnection as CreateConnection;
    return hooks.createConnection(this, base, options, callback);
  }

  override keepSocketAlive(socket: Duplex): boolean {
    return hooks.keepSocketAlive(this, super.keepSocketAlive(socket), socket);
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    hooks.reuseSocket(this, socket);
    super.reuseSocket(socket, request);
  }
}
brand(HttpAgent, 'http.HttpAgent');

/** HttpAgent for https: node:https's Agent with the same watch on every pooled TLS socket. */
export class HttpsAgent extends https.Agent {
  constructor(options: HttpsAgentOptions = {}) {
    const { lifeline, ...node } = options;
    const watcher = new Watcher(lifeline, 'HttpsAgent');
    super({ keepAlive: true, ...node });
    watchers.set(this, watcher);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex {
    const base = https.Agent.prototype.createConnection as CreateConnection;
    return hooks.createConnection(this, base, options, callback);
  }

  override keepSocketAlive(socket: Duplex): boolean {
    return hooks.keepSocketAlive(this, super.keepSocketAlive(socket), socket);
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    hooks.reuseSocket(this, socket);
    super.reuseSocket(socket, request);
  }
}
brand(HttpsAgent, 'http.HttpsAgent');
