// undici's Agent made lifeline's: pooled sockets watched by LiveSocket, idle cuts honoured, safe retries.

import { Client, type Dispatcher, Pool, Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { brand } from '../../core/brand.js';
import { type ConnectOption, lifelineConnector } from './connector.js';
import { interceptorFor } from './interceptor.js';
import { HttpPolicy, type LifelineHttpOptions } from './options.js';
import { originOf } from './request.js';

export interface AgentOptions extends UndiciAgent.Options {
  /** What lifeline adds; every other option is undici's Agent's own. */
  lifeline?: LifelineHttpOptions;
}

/**
 * undici's Agent, made lifeline's: every pooled socket is watched by a LiveSocket (a socket the server
 * closed leaves the pool on the event; one idle for nearly the server's idle cut, hinted or learned, is
 * closed before reuse), and every request runs through `interceptor()`. Use it wherever undici takes a
 * dispatcher: `request(url, { dispatcher })`, `fetch(url, { dispatcher })`, `setGlobalDispatcher(agent)`.
 */
export class Agent extends UndiciAgent {
  readonly #dispatch: Dispatcher.Dispatch;

  constructor(options: AgentOptions = {}) {
    const { lifeline, connect, factory, ...undici } = options;
    const policy = new HttpPolicy(lifeline, 'Agent', 'lifeline');
    const connector = lifelineConnector(connect as ConnectOption, policy);
    // Each origin's dispatcher (a Pool, or a Client for `connections: 1`), as undici's Agent made it, by
    // undici's own key (String(origin)). Requests go to it directly: undici's Agent layer (its dispatch checks
    // and its origin map) runs only when the origin has none yet, or its dispatcher was closed (the Agent
    // closes one whose connections all ended, and all of them when it closes).
    // Only undici's own Pool and Client are taken directly (they tell when they are closed); a dispatcher
    // from a custom factory is always reached through the Agent.
    const origins = new Map<string, Pool | Client>();
    let sweepAt = 64;
    const make = factory ?? defaultFactory;
    super({
      ...undici,
      connect: connector,
      factory: (origin, factoryOptions) => {
        const dispatcher = make(origin, factoryOptions);
        if (origins.size >= sweepAt) {
          for (const [key, old] of origins) if (old.closed || old.destroyed) origins.delete(key);
          sweepAt = Math.max(64, origins.size * 2);
        }
        if (dispatcher instanceof Pool || dispatcher instanceof Client)
          origins.set(String(origin), dispatcher);
        return dispatcher;
      },
    });
    policy.fresh = (dispatchOptions, handler) => {
      const client = new Client(originOf(dispatchOptions), {
        connect: connector,
        pipelining: 1,
        ...(undici.headersTimeout === undefined ? {} : { headersTimeout: undici.headersTimeout }),
        ...(undici.bodyTimeout === undefined ? {} : { bodyTimeout: undici.bodyTimeout }),
      });
      const accepted = client.dispatch(dispatchOptions, handler);
      // close() lets the request finish, then ends the connection; it is this request's alone.
      client.close().catch(() => client.destroy().catch(() => undefined));
      return accepted;
    };
    // The interceptor is called directly, not through compose(): compose() would convert every caller's
    // handler to undici's newer API and back, parsing and rebuilding each response's headers.
    this.#dispatch = interceptorFor(policy)((dispatchOptions, handler) => {
      const { origin } = dispatchOptions;
      const dispatcher = typeof origin === 'string' ? origins.get(origin) : undefined;
      if (dispatcher !== undefined && !dispatcher.closed && !dispatcher.destroyed) {
        return dispatcher.dispatch(dispatchOptions, handler);
      }
      return super.dispatch(dispatchOptions, handler);
    });
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(options, handler);
  }
}

/** undici's Agent's own default: a Client when one connection is asked for, else a Pool. */
function defaultFactory(origin: string | URL, options: object): Dispatcher {
  return (options as { connections?: number }).connections === 1
    ? new Client(origin, options)
    : new Pool(origin, options);
}
brand(Agent, 'http.Agent');

let shared: Agent | undefined;

/** The Agent `fetch` uses when the caller gives no dispatcher: made on first use, with default options. */
export function defaultAgent(): Agent {
  shared ??= new Agent();
  return shared;
}

/** The WHATWG fetch (undici's), through lifeline's Agent unless `init.dispatcher` names another. */
export function fetch(
  input: Parameters<typeof undiciFetch>[0],
  init?: Parameters<typeof undiciFetch>[1],
): ReturnType<typeof undiciFetch> {
  return undiciFetch(input, { ...init, dispatcher: init?.dispatcher ?? defaultAgent() });
}
