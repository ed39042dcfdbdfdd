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

/** Shared by HttpAgent and HttpsAgent: one origin table and what node:http's Agent hooks ask of it. */
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

/** What HttpAgent and HttpsAgent add over their base Agent's prototype, written once for both. */
interface BaseHooks {
  createConnection(
    this: http.Agent,
    options: http.ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): net.Socket;
  /** node:http returns whether it keeps the socket, though @types/node says void. */
  keepSocketAlive(this: http.Agent, socket: Duplex): unknown;
  reuseSocket(this: http.Agent, socket: Duplex, request: http.ClientRequest): void;
  /** Not in @types/node, but the Agent's stable entry point (agentkeepalive and others override it too). */
  addRequest(this: http.Agent, request: http.ClientRequest, options: http.ClientRequestArgs): void;
}

/**
 * Destroys every free socket past its reuse limit (or found dead), so node:http, which skips destroyed free
 * sockets, cannot hand it out: the idle timer closes them too, but a timer can fire late on a busy loop, and
 * this check at the moment of reuse cannot.
 */
function retireStale(agent: http.Agent): void {
  const free = agent.freeSockets;
  for (const name in free) {
    const sockets = free[name];
    if (sockets === undefined) continue;
    for (const socket of sockets) {
      const watch = SocketWatch.of(socket);
      if (watch !== undefined && !socket.destroyed && !watch.reusable) socket.destroy();
    }
  }
}

/**
 * Gives `Agent` the hooks node:http offers an Agent, over those of `Base` (http.Agent or https.Agent):
 * every socket it creates is watched, a socket going free is kept only while alive and short of its reuse
 * limit, a free one past it is retired before a request picks a socket, and a reused one is marked busy. One implementation for both classes; a subclass may still override
 * them and call super.
 */
function installHooks(Agent: { prototype: http.Agent }, Base: { prototype: http.Agent }): void {
  const base = Base.prototype as unknown as BaseHooks;
  const hooks: BaseHooks = {
    createConnection(options, callback) {
      const socket = base.createConnection.call(this, options, callback);
      watchers.get(this)?.watch(socket, nameOf(this, options));
      return socket;
    },
    keepSocketAlive(socket) {
      const kept = base.keepSocketAlive.call(this, socket);
      return kept !== false && (watchers.get(this)?.keep(socket as net.Socket) ?? true);
    },
    reuseSocket(socket, request) {
      watchers.get(this)?.reuse(socket as net.Socket);
      base.reuseSocket.call(this, socket, request);
    },
    addRequest(request, options) {
      if (watchers.has(this)) retireStale(this);
      base.addRequest.call(this, request, options);
    },
  };
  for (const [name, value] of Object.entries(hooks)) {
    Object.defineProperty(Agent.prototype, name, { value, writable: true, configurable: true });
  }
}

/** node's own options (keep-alive on unless turned off) and the Watcher made from the lifeline ones. */
function split<T extends http.AgentOptions>(
  options: T & { lifeline?: NodeAgentLifelineOptions },
  owner: string,
): { node: T; watcher: Watcher } {
  const { lifeline, ...node } = options;
  return { node: { keepAlive: true, ...node } as T, watcher: new Watcher(lifeline, owner) };
}

/**
 * node:http's Agent (keep-alive on by default) with every pooled socket watched by a LiveSocket: a socket the
 * server closed leaves the pool on the FIN or reset, and one idle for nearly the server's idle cut (its
 * `Keep-Alive: timeout=` hint, or the cut learned from earlier closes) is closed before it can be reused.
 * node:http gives an agent no way to retry a request already written: see docs/http.md.
 */
export class HttpAgent extends http.Agent {
  constructor(options: HttpAgentOptions = {}) {
    const { node, watcher } = split(options, 'HttpAgent');
    super(node);
    watchers.set(this, watcher);
  }
}
installHooks(HttpAgent, http.Agent);
brand(HttpAgent, 'http.HttpAgent');

/** HttpAgent for https: node:https's Agent with the same watch on every pooled TLS socket. */
export class HttpsAgent extends https.Agent {
  constructor(options: HttpsAgentOptions = {}) {
    const { node, watcher } = split(options, 'HttpsAgent');
    super(node);
    watchers.set(this, watcher);
  }
}
installHooks(HttpsAgent, https.Agent);
brand(HttpsAgent, 'http.HttpsAgent');
