// Kernel drops for the soak: every adapter's path goes through one network namespace (client → socat relay in
// the namespace → fault proxy on this side of the veth → server), so iptables DROP inside the namespace makes
// the peer vanish silently — no FIN, no RST, no ICMP: only keepalive, TCP_USER_TIMEOUT and deadlines find it.
// Needs root on Linux with ip, iptables and socat (src/faults/netns.ts); otherwise the soak says why and runs
// without. Addresses are in 198.18.0.0/15 only.
import { type NetnsEndpoint, NetnsHost, netnsSupport } from '../src/faults/netns.js';

export type Drop = { kind: 'blackhole' } | { kind: 'loss'; percent: number };

export class KernelDrops {
  readonly #host: NetnsHost;
  /** Drops in force, oldest first: the newest one is the rule, the others come back when it ends. */
  readonly #active: { id: number; drop: Drop }[] = [];
  #chain: Promise<void> = Promise.resolve();
  #next = 0;
  applied = 0;
  /** iptables failures (the run goes on; the report lists them). */
  readonly errors: string[] = [];

  private constructor(host: NetnsHost) {
    this.#host = host;
  }

  /** A namespace for the soak, or the reason there is none (printed loudly by the caller). */
  static async create(): Promise<KernelDrops | string> {
    const reason = netnsSupport();
    if (reason !== undefined) return reason;
    try {
      return new KernelDrops(await NetnsHost.create({ prefix: 'soak' }));
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Where a proxy must listen so the namespace's relay reaches it. */
  get listenHost(): string {
    return this.#host.gatewayAddress;
  }

  /** A relay inside the namespace to `port` on this side; clients dial the endpoint. */
  route(port: number): Promise<NetnsEndpoint> {
    return this.#host.serve(port);
  }

  /** Puts `drop` in force; the returned function ends it. */
  start(drop: Drop): () => Promise<void> {
    const id = this.#next++;
    this.#active.push({ id, drop });
    this.applied++;
    this.#apply();
    return () => {
      const i = this.#active.findIndex((a) => a.id === id);
      if (i >= 0) this.#active.splice(i, 1);
      return this.#apply();
    };
  }

  #apply(): Promise<void> {
    this.#chain = this.#chain
      .then(async () => {
        const top = this.#active.at(-1)?.drop;
        if (top === undefined) await this.#host.heal();
        else if (top.kind === 'blackhole') await this.#host.blackhole();
        else await this.#host.loss(top.percent);
      })
      .catch((error: unknown) => {
        this.errors.push((error as Error).message);
      });
    return this.#chain;
  }

  async destroy(): Promise<void> {
    this.#active.length = 0;
    await this.#apply().catch(() => {});
    await this.#host.destroy();
  }
}
