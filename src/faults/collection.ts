// The set of named proxies the control API manages, and Toxiproxy's populate format.
import { brand } from '../core/brand.js';
import { formatAddress, parseAddress } from './address.js';
import { InvalidProxyError, ProxyExistsError, ProxyNotFoundError } from './errors.js';
import { nameProblem } from './names.js';
import { FaultProxy } from './proxy.js';
import { deriveSeed } from './rng.js';

/** One entry of Toxiproxy's populate format (also what POST /proxies takes). */
export interface ProxyConfig {
  name: string;
  listen?: string;
  upstream: string;
  enabled?: boolean;
}

/** A proxy's fields, as the advice of an error spells them. */
const SHAPE = 'an object { name, upstream, listen?, enabled? }';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a proxy body; `where` says which entry of a populate list it was. */
function proxyConfig(input: unknown, where = ''): ProxyConfig {
  if (!isObject(input)) {
    throw new InvalidProxyError(`a proxy must be a JSON object${where}`, `pass ${SHAPE}`);
  }
  for (const field of ['name', 'upstream'] as const) {
    if (typeof input[field] !== 'string' || input[field] === '') {
      throw new InvalidProxyError(
        `missing required field: ${field}${where}`,
        `give the proxy a non-empty ${field} string, as in ${SHAPE}`,
      );
    }
  }
  if (input.listen !== undefined && typeof input.listen !== 'string') {
    throw new InvalidProxyError(
      `listen must be a "host:port" string${where}`,
      'set listen to "host:port", or leave it out for a free port on 127.0.0.1',
    );
  }
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') {
    throw new InvalidProxyError(
      `enabled must be true or false${where}`,
      'set enabled to true or false, or leave it out for true',
    );
  }
  const problem = nameProblem(input.name);
  if (problem !== undefined)
    throw new InvalidProxyError(`proxy name ${problem}${where}`, 'choose another name');
  return input as unknown as ProxyConfig;
}

/** The named proxies behind the HTTP API, with Toxiproxy's collection semantics (populate, reset). */
export class ProxyCollection {
  private readonly proxies = new Map<string, FaultProxy>();

  /** With a seed, each proxy's seed is derived from it and its name, so a whole setup replays. */
  constructor(private readonly options: { seed?: number } = {}) {}

  list(): FaultProxy[] {
    return [...this.proxies.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): FaultProxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new ProxyNotFoundError(name);
    return proxy;
  }

  async create(input: unknown): Promise<FaultProxy> {
    const config = proxyConfig(input);
    if (this.proxies.has(config.name)) throw new ProxyExistsError(config.name);
    return this.start(config);
  }

  /** Toxiproxy's proxy update: any of enabled, listen, upstream. */
  async update(name: string, input: unknown): Promise<FaultProxy> {
    const proxy = this.get(name);
    if (!isObject(input)) {
      throw new InvalidProxyError(
        'a proxy update must be a JSON object',
        'pass an object { listen?, upstream?, enabled? }',
      );
    }
    const { listen, upstream, enabled } = input;
    if (listen !== undefined && typeof listen !== 'string')
      throw new InvalidProxyError('listen must be a string', 'set listen to "host:port", or leave it out');
    if (upstream !== undefined && typeof upstream !== 'string')
      throw new InvalidProxyError(
        'upstream must be a string',
        'set upstream to "host:port", or leave it out',
      );
    if (enabled !== undefined && typeof enabled !== 'boolean')
      throw new InvalidProxyError(
        'enabled must be true or false',
        'set enabled to true or false, or leave it out',
      );
    await proxy.reconfigure({
      ...(listen === undefined ? {} : { listen }),
      ...(upstream === undefined ? {} : { upstream }),
    });
    if (enabled === true) await proxy.enable();
    if (enabled === false) proxy.disable();
    return proxy;
  }

  async remove(name: string): Promise<void> {
    const proxy = this.get(name);
    this.proxies.delete(name);
    await proxy.stop();
  }

  /**
   * Toxiproxy's populate: validates every entry first, then creates each proxy, keeping one that already
   * exists with the same addresses and replacing one whose addresses differ.
   */
  async populate(input: unknown): Promise<FaultProxy[]> {
    if (!Array.isArray(input)) {
      throw new InvalidProxyError('populate takes a JSON array of proxies', `pass an array of ${SHAPE}`);
    }
    const configs = input.map((entry, i) => proxyConfig(entry, ` at proxy ${i + 1}`));
    const seen = new Set<string>();
    for (const config of configs) {
      if (seen.has(config.name)) {
        throw new InvalidProxyError(
          `duplicate proxy name "${config.name}"`,
          'give each proxy of the list its own name',
        );
      }
      seen.add(config.name);
      parseAddress(config.upstream, `upstream of ${config.name}`);
      if (config.listen !== undefined) parseAddress(config.listen, `listen of ${config.name}`);
    }
    const result: FaultProxy[] = [];
    for (const config of configs) {
      const existing = this.proxies.get(config.name);
      const same =
        existing &&
        existing.upstream === formatAddress(parseAddress(config.upstream, 'upstream')) &&
        (config.listen === undefined ||
          existing.listen === formatAddress(parseAddress(config.listen, 'listen')));
      if (existing && same) {
        if (config.enabled === false) existing.disable();
        else await existing.enable();
        result.push(existing);
        continue;
      }
      if (existing) await this.remove(config.name);
      result.push(await this.start(config));
    }
    return result;
  }

  /** Toxiproxy's reset: every proxy enabled, every toxic removed. */
  async reset(): Promise<void> {
    for (const proxy of this.proxies.values()) {
      await proxy.enable();
      proxy.resetToxics();
    }
  }

  async stopAll(): Promise<void> {
    const all = [...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(all.map((p) => p.stop()));
  }

  private async start(config: ProxyConfig): Promise<FaultProxy> {
    const proxy = new FaultProxy({
      name: config.name,
      upstream: config.upstream,
      listen: config.listen ?? '127.0.0.1:0',
      enabled: config.enabled ?? true,
      ...(this.options.seed === undefined ? {} : { seed: deriveSeed(this.options.seed, config.name) }),
    });
    await proxy.start();
    // A create racing this one for the same name loses cleanly instead of leaking a listener.
    if (this.proxies.has(config.name)) {
      await proxy.stop();
      throw new ProxyExistsError(config.name);
    }
    this.proxies.set(config.name, proxy);
    return proxy;
  }
}
brand(ProxyCollection, 'ProxyCollection');
