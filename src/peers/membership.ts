// Where a PeerSet's members come from: a static list or a source that updates it.
import * as dns from 'node:dns';
import type { LifelineError } from '../core/errors.js';
import { InvalidOptionError, type OptionRules, validateOptions } from '../core/options.js';
import { MembershipResolveError } from './errors.js';

/**
 * Where the members come from. The set calls `start` once and `stop` on close; `update` replaces the
 * member list (peers are matched by key), `fail` reports a failed refresh (the set keeps its members).
 */
export interface Membership<P> {
  start(update: (peers: readonly P[]) => void, fail: (error: LifelineError) => void): void;
  stop(): void;
}

/** A member found in DNS. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The part of `dns.promises.Resolver` the DNS membership uses. */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolveSrv(hostname: string): Promise<dns.SrvRecord[]>;
}

export interface DnsMembershipOptions {
  /** The name to resolve: an A name (with `port`) or an SRV name such as `_storage._tcp.example.com`. */
  hostname: string;
  /** Record type. Default 'SRV', or 'A' when `port` is given. */
  type?: 'A' | 'SRV';
  /** For A records: the port every member listens on. */
  port?: number;
  /** Re-resolve this often. Default 30 000 ms. */
  intervalMs?: number;
  /** A resolver of your own (e.g. a `dns.promises.Resolver` with `setServers`). Default: the system's. */
  resolver?: DnsResolver;
}

const RULES: OptionRules = {
  hostname: { kind: 'string', required: true },
  type: { kind: 'enum', values: ['A', 'SRV'] },
  port: { kind: 'number', min: 1, max: 65535, integer: true },
  intervalMs: { kind: 'number', min: 10, max: 86_400_000 },
  resolver: { kind: 'object', rules: {}, open: true },
};

function byAddress(a: PeerAddress, b: PeerAddress): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port;
}

class DnsMembership implements Membership<PeerAddress> {
  private timer: NodeJS.Timeout | undefined;
  private resolving = false;
  private stopped = false;

  constructor(
    private readonly hostname: string,
    private readonly type: 'A' | 'SRV',
    private readonly port: number,
    private readonly intervalMs: number,
    private readonly resolver: DnsResolver,
  ) {}

  start(update: (peers: readonly PeerAddress[]) => void, fail: (error: LifelineError) => void): void {
    const refresh = async (): Promise<void> => {
      if (this.resolving || this.stopped) return;
      this.resolving = true;
      try {
        const found = await this.resolve();
        if (this.stopped) return;
        if (found.length === 0) throw new Error('no records');
        update(found);
      } catch (error) {
        if (!this.stopped) fail(new MembershipResolveError(this.hostname, error));
      } finally {
        this.resolving = false;
      }
    };
    void refresh();
    this.timer = setInterval(() => void refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async resolve(): Promise<PeerAddress[]> {
    const seen = new Map<string, PeerAddress>();
    if (this.type === 'A') {
      for (const host of await this.resolver.resolve4(this.hostname)) {
        seen.set(`${host}:${this.port}`, { host, port: this.port });
      }
    } else {
      for (const record of await this.resolver.resolveSrv(this.hostname)) {
        seen.set(`${record.name}:${record.port}`, { host: record.name, port: record.port });
      }
    }
    return [...seen.values()].sort(byAddress);
  }
}

/**
 * Members from DNS: A records (all on `port`) or SRV records (each with its own port), re-resolved every
 * `intervalMs`. A failed or empty answer keeps the last known members (a DNS blip must not empty the set)
 * and is reported through the set's log and `membership-error` event.
 */
export function dnsMembership(options: DnsMembershipOptions): Membership<PeerAddress> {
  validateOptions('dnsMembership', options, RULES);
  const type = options.type ?? (options.port === undefined ? 'SRV' : 'A');
  if (type === 'A' && options.port === undefined) {
    throw new InvalidOptionError('dnsMembership', 'port', 'is required for A records', undefined);
  }
  const resolver = options.resolver ?? new dns.promises.Resolver();
  if (typeof resolver.resolve4 !== 'function' || typeof resolver.resolveSrv !== 'function') {
    throw new InvalidOptionError('dnsMembership', 'resolver', 'must have resolve4 and resolveSrv', resolver);
  }
  return new DnsMembership(options.hostname, type, options.port ?? 0, options.intervalMs ?? 30_000, resolver);
}
