// FaultProxy: a TCP proxy whose connections pass through toxics, per direction, with a seeded RNG.
import net from 'node:net';
import { brand } from '../core/brand.js';
import { describe } from '../core/options.js';
import { formatAddress, type HostPort, parseAddress } from './address.js';
import { Connection } from './connection.js';
import { AddressInUseError, InvalidProxyError, ToxicExistsError, ToxicNotFoundError } from './errors.js';
import { nameProblem } from './names.js';
import { draw } from './rng.js';
import { normalizeToxic, patchToxic } from './spec.js';
import type { Stream, Toxic, ToxicPatch, ToxicSpec } from './toxic.js';

export interface FaultProxyOptions {
  /** Address to accept clients on, `host:port`; port 0 picks a free one. Default `127.0.0.1:0`. */
  listen?: string;
  /** Address of the real server, `host:port`. */
  upstream: string;
  /** Default `proxy`. Used in toxic errors and by the HTTP API. */
  name?: string;
  /** Seed of every random choice (toxicity, jitter, slice sizes). Default: random; read it back from `seed`. */
  seed?: number;
  /** Default true. A disabled proxy refuses connections (nothing listens). */
  enabled?: boolean;
}

export interface ConnectionInfo {
  /** 1-based, in accept order: what `target.connection` refers to. */
  id: number;
  /** Date.now() when accepted. */
  openedAt: number;
  /** Bytes read so far from the client (`upstream`) and from the server (`downstream`). */
  bytes: { upstream: number; downstream: number };
}

export interface FaultProxyStats {
  connectionsTotal: number;
  connectionsOpen: number;
  /** Bytes read from the source of each stream. */
  received: Record<Stream, number>;
  /** Bytes written to the destination of each stream (what the toxics let through). */
  sent: Record<Stream, number>;
}

type Traffic = Pick<FaultProxyStats, 'received' | 'sent'>;

/** Adds a connection's byte counts, per stream, into `totals`. */
function addTraffic(totals: Traffic, connection: Connection): void {
  for (const link of [connection.upstream, connection.downstream]) {
    totals.received[link.stream] += link.received;
    totals.sent[link.stream] += link.sent;
  }
}

/**
 * A TCP proxy that breaks connections on purpose: toxics per direction, chosen per connection by a seeded
 * draw, so the same seed fails the same connections in every run.
 */
export class FaultProxy {
  readonly name: string;
  readonly seed: number;
  private listenAddress: HostPort;
  private upstreamAddress: HostPort;
  private isEnabled: boolean;
  private started = false;
  private server: net.Server | null = null;
  private readonly open = new Map<number, Connection>();
  private toxicList: Toxic[] = [];
  private nextId = 1;
  /** Bytes of the connections already closed. */
  private readonly closedTotals: Traffic = {
    received: { upstream: 0, downstream: 0 },
    sent: { upstream: 0, downstream: 0 },
  };

  constructor(options: FaultProxyOptions) {
    this.name = options.name ?? 'proxy';
    const problem = nameProblem(this.name);
    if (problem !== undefined) throw new InvalidProxyError(`proxy name ${problem}`, 'choose another name');
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new InvalidProxyError(
        `seed must be an integer, got ${describe(options.seed)}`,
        'pass an integer seed, or leave it out for a random one',
      );
    }
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.listenAddress = parseAddress(options.listen ?? '127.0.0.1:0', 'listen');
    this.upstreamAddress = parseAddress(options.upstream, 'upstream');
    this.isEnabled = options.enabled ?? true;
  }

  /** The address clients connect to; after start() it carries the real port. */
  get listen(): string {
    return formatAddress(this.listenAddress);
  }

  get upstream(): string {
    return formatAddress(this.upstreamAddress);
  }

  get enabled(): boolean {
    return this.isEnabled;
  }

  /** Starts listening (unless disabled). Rejects with AddressInUseError when the port is taken. */
  async start(): Promise<HostPort> {
    this.started = true;
    if (this.isEnabled) await this.bind();
    return { ...this.listenAddress };
  }

  /** Stops listening and drops every connection. */
  async stop(): Promise<void> {
    this.started = false;
    for (const connection of this.open.values()) connection.destroy();
    await this.unbind();
  }

  /** Accepts connections again, on the same address as before. */
  async enable(): Promise<void> {
    this.isEnabled = true;
    if (this.started && !this.server) await this.bind();
  }

  /** Toxiproxy's `down`: closes every connection and stops listening, so new connections are refused. */
  disable(): void {
    this.isEnabled = false;
    void this.unbind();
    this.closeAll('fin');
  }

  /**
   * Moves the proxy to new addresses; existing connections are closed, as in Toxiproxy. When the new listen
   * address is taken it rejects with AddressInUseError and keeps the old addresses.
   */
  async reconfigure(change: { listen?: string; upstream?: string }): Promise<void> {
    const listen = change.listen === undefined ? this.listenAddress : parseAddress(change.listen, 'listen');
    const upstream =
      change.upstream === undefined ? this.upstreamAddress : parseAddress(change.upstream, 'upstream');
    if (formatAddress(listen) === this.listen && formatAddress(upstream) === this.upstream) return;
    this.closeAll('fin');
    await this.unbind();
    const before = { listen: this.listenAddress, upstream: this.upstreamAddress };
    this.listenAddress = listen;
    this.upstreamAddress = upstream;
    if (!this.started || !this.isEnabled) return;
    try {
      await this.bind();
    } catch (error) {
      // A refused move changes nothing: the proxy goes back to the address it held a moment ago.
      this.listenAddress = before.listen;
      this.upstreamAddress = before.upstream;
      await this.bind();
      throw error;
    }
  }

  /** Acts on every current connection now: a FIN to both sides, or an RST. */
  closeAll(mode: 'fin' | 'reset' = 'fin'): void {
    for (const connection of this.open.values()) connection.close(mode);
  }

  connections(): ConnectionInfo[] {
    return [...this.open.values()].map((c) => ({
      id: c.id,
      openedAt: c.openedAt,
      bytes: { upstream: c.upstream.received, downstream: c.downstream.received },
    }));
  }

  stats(): FaultProxyStats {
    const traffic = structuredClone(this.closedTotals);
    for (const connection of this.open.values()) addTraffic(traffic, connection);
    return { connectionsTotal: this.nextId - 1, connectionsOpen: this.open.size, ...traffic };
  }

  /** Adds a toxic; it acts on current connections at once and on new ones as they come. */
  addToxic(spec: ToxicSpec): Toxic {
    const toxic = normalizeToxic(spec);
    if (this.toxicList.some((t) => t.name === toxic.name)) throw new ToxicExistsError(this.name, toxic.name);
    this.toxicList.push(toxic);
    for (const connection of this.open.values()) {
      if (this.applies(toxic, connection.id)) connection.link(toxic.stream).add(toxic);
    }
    return structuredClone(toxic);
  }

  /** Changes toxicity, attributes (merged) or target; type, stream and name stay. */
  updateToxic(name: string, patch: ToxicPatch): Toxic {
    const index = this.toxicList.findIndex((t) => t.name === name);
    const old = this.toxicList[index];
    if (!old) throw new ToxicNotFoundError(this.name, name);
    const toxic = patchToxic(old, patch);
    this.toxicList[index] = toxic;
    for (const connection of this.open.values()) {
      const link = connection.link(toxic.stream);
      const had = link.has(name);
      const wants = this.applies(toxic, connection.id);
      if (had && wants) link.replace(toxic);
      else if (had) link.withdraw(name);
      else if (wants) link.add(toxic);
    }
    return structuredClone(toxic);
  }

  removeToxic(name: string): void {
    const toxic = this.toxicList.find((t) => t.name === name);
    if (!toxic) throw new ToxicNotFoundError(this.name, name);
    this.toxicList = this.toxicList.filter((t) => t !== toxic);
    for (const connection of this.open.values()) connection.link(toxic.stream).remove(name);
  }

  resetToxics(): void {
    for (const toxic of [...this.toxicList]) this.removeToxic(toxic.name);
  }

  toxics(): Toxic[] {
    return structuredClone(this.toxicList);
  }

  toxic(name: string): Toxic {
    const toxic = this.toxicList.find((t) => t.name === name);
    if (!toxic) throw new ToxicNotFoundError(this.name, name);
    return structuredClone(toxic);
  }

  /** Toxiproxy's JSON shape of a proxy. */
  toJSON(): { name: string; listen: string; upstream: string; enabled: boolean; toxics: Toxic[] } {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.toxics(),
    };
  }

  /**
   * Whether a toxic acts on a connection: its target's connection number matches, and a draw seeded by
   * (seed, toxic name, connection id) falls under its toxicity — so raising toxicity only adds connections.
   */
  private applies(toxic: Toxic, connectionId: number): boolean {
    if (toxic.target?.connection !== undefined && toxic.target.connection !== connectionId) return false;
    if (toxic.toxicity >= 1) return true;
    return draw(this.seed, toxic.name, connectionId) < toxic.toxicity;
  }

  private readonly accept = (client: net.Socket): void => {
    if (!this.isEnabled) {
      client.destroy();
      return;
    }
    const connection = new Connection(this.nextId++, this.seed, client, this.upstreamAddress, this.forget);
    this.open.set(connection.id, connection);
    for (const toxic of this.toxicList) {
      if (this.applies(toxic, connection.id)) connection.link(toxic.stream).add(toxic);
    }
  };

  private readonly forget = (connection: Connection): void => {
    this.open.delete(connection.id);
    addTraffic(this.closedTotals, connection);
  };

  private bind(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, this.accept);
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new AddressInUseError(this.listen, { cause: error })
            : // Not this machine's address (EADDRNOTAVAIL), a privileged port (EACCES), ...
              new InvalidProxyError(
                `listen address ${this.listen} cannot be used: ${error.code ?? error.message}`,
                'use an address of this machine and a port this process may bind (1024 and up without privileges)',
                { cause: error },
              ),
        );
      });
      server.listen({ host: this.listenAddress.host, port: this.listenAddress.port }, () => {
        const address = server.address() as net.AddressInfo;
        this.listenAddress = { host: this.listenAddress.host, port: address.port };
        this.server = server;
        // Later errors on the listening socket are not ours to crash on; a failed accept only loses that client.
        server.on('error', () => {});
        resolve();
      });
    });
  }

  private unbind(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
brand(FaultProxy, 'FaultProxy');
