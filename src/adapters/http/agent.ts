// undici's Agent made lifeline's: pooled sockets watched by LiveSocket, idle cuts honoured, safe retries.

import { Client, type Dispatcher, Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
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
    const { lifeline, connect, ...undici } = options;
    const policy = new HttpPolicy(lifeline, 'Agent', 'lifeline');
    const connector = lifelineConnector(connect as ConnectOption, policy);
    super({ ...undici, connect: connector });
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
    this.#dispatch = interceptorFor(policy)((dispatchOptions, handler) =>
      super.dispatch(dispatchOptions, handler),
    );
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(options, handler);
  }
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
