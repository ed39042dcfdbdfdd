// HostSet: many endpoints with a breaker each, failover, read/write routing and health probes.
import { brand } from '../core/brand.js';
import { InvalidOptionError, type OptionRules, validateOptions } from '../core/options.js';
import { coarseNow } from '../core/time.js';
import {
  BREAKER_RULES,
  type BreakerPermit,
  CircuitBreaker,
  type CircuitBreakerOptions,
  REJECTED,
} from './breaker.js';
import { BUDGET_RULES, RetryBudget, type RetryBudgetOptions } from './budget.js';

export type HostRole = 'primary' | 'replica';
export type Route = 'read' | 'write';

export interface HostSpec {
  host: string;
  port: number;
  /** Default 'primary'. */
  role?: HostRole;
  /** Default `host:port`. */
  name?: string;
}

/** One endpoint: where it is, what it serves and whether it is healthy (its breaker). */
export class Host {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Changes when a probe reports a new role (e.g. a promoted standby). */
  role: HostRole;
  readonly breaker: CircuitBreaker;
  /** Attempts running on this host now. */
  inFlight = 0;

  constructor(spec: HostSpec, breaker: CircuitBreakerOptions) {
    this.host = spec.host;
    this.port = spec.port;
    this.role = spec.role ?? 'primary';
    this.name = spec.name ?? `${spec.host}:${spec.port}`;
    this.breaker = new CircuitBreaker({ ...breaker, name: this.name });
  }

  get healthy(): boolean {
    return this.breaker.state === 'closed';
  }
}
brand(Host, 'Host');

/** A probe: resolves (optionally with the role it found) when the host can serve, rejects when not. */
export type HostProbe = (host: Host, signal: AbortSignal) => Promise<HostRole | undefined>;

export interface HostSetOptions {
  /** Options for each host's breaker (its name is the host's). */
  breaker?: CircuitBreakerOptions;
  /** Shared by every call through this set unless a call passes its own. Default: a new RetryBudget(). */
  budget?: RetryBudget | RetryBudgetOptions;
  /**
   * Health probe. When given, every host is probed each probeIntervalMs; a host whose breaker opened gets
   * no traffic until probeSuccesses probes in a row pass, and a probe that reports a role updates it.
   * Without it, the breaker's half-open calls are the probes.
   */
  probe?: HostProbe;
  /** Default 1000 ms. */
  probeIntervalMs?: number;
  /** Default 1000 ms. */
  probeTimeoutMs?: number;
  /** Default 2. */
  probeSuccesses?: number;
}

// Each host gets a breaker and is scanned on every pick: a bound keeps a runaway list from doing either.
const MAX_HOSTS = 1000;

const HOST_RULES: OptionRules = {
  host: { kind: 'string', required: true },
  port: { kind: 'number', min: 1, max: 65535, integer: true, required: true },
  role: { kind: 'enum', values: ['primary', 'replica'] },
  name: { kind: 'string' },
};

const SET_RULES: OptionRules = {
  breaker: { kind: 'object', rules: BREAKER_RULES },
  // A RetryBudget or its options: checked below.
  budget: { kind: 'object', rules: {}, open: true },
  probe: { kind: 'function' },
  probeIntervalMs: { kind: 'number', min: 10, max: 3_600_000 },
  probeTimeoutMs: { kind: 'number', min: 1, max: 3_600_000 },
  probeSuccesses: { kind: 'number', min: 1, max: 1000, integer: true },
};

/** A host chosen for an attempt and the breaker permit it holds. */
export interface HostChoice {
  readonly host: Host;
  readonly permit: BreakerPermit;
}

/**
 * A set of endpoints with health: picks a host per attempt by route (writes to a primary; reads to a
 * healthy replica, else a primary), prefers the least busy, skips hosts whose breaker is open, and avoids
 * the host the previous attempt just failed on (failover) while another is healthy.
 */
export class HostSet {
  readonly hosts: readonly Host[];
  readonly budget: RetryBudget;
  private readonly probe: HostProbe | undefined;
  private readonly probeTimeoutMs: number;
  private readonly probeSuccesses: number;
  private readonly passes = new Map<Host, number>();
  private readonly probing = new Set<Host>();
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;

  constructor(specs: readonly HostSpec[], options: HostSetOptions = {}) {
    if (!Array.isArray(specs) || specs.length === 0 || specs.length > MAX_HOSTS) {
      throw new InvalidOptionError(
        'HostSet',
        'hosts',
        `must be a non-empty array of { host, port, role?, name? }, at most ${MAX_HOSTS} long`,
        specs,
      );
    }
    for (const [i, spec] of specs.entries()) {
      validateOptions(
        'HostSet',
        { [`hosts[${i}]`]: spec },
        { [`hosts[${i}]`]: { kind: 'object', rules: HOST_RULES } },
      );
    }
    validateOptions('HostSet', options, SET_RULES);
    if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
      validateOptions(
        'HostSet',
        { budget: options.budget },
        { budget: { kind: 'object', rules: BUDGET_RULES } },
      );
    }
    const breaker = options.breaker ?? {};
    this.hosts = specs.map((spec) => new Host(spec, breaker));
    this.budget = options.budget instanceof RetryBudget ? options.budget : new RetryBudget(options.budget);
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.probeSuccesses = options.probeSuccesses ?? 2;
    this.probe = options.probe;
    if (this.probe) {
      // Unref'd: health checking alone must not keep a program alive. close() stops it.
      this.timer = setInterval(probeAll, options.probeIntervalMs ?? 1000, this);
      this.timer.unref();
    }
  }

  /**
   * Chooses a host for `route`, taking a breaker permit, or undefined when none can serve. `avoid` is the
   * host the previous attempt failed on: used only when no other candidate is available.
   */
  pick(route: Route, avoid: Host | undefined, now: number): HostChoice | undefined {
    const first = this.best(route, avoid, now);
    if (first) return first;
    return avoid ? this.take(avoid, route, now) : undefined;
  }

  private best(route: Route, avoid: Host | undefined, now: number): HostChoice | undefined {
    // Reads: replicas first, then primaries. Writes: primaries only.
    for (const role of route === 'read' ? READ_ORDER : WRITE_ORDER) {
      const n = this.hosts.length;
      const start = this.turn++ % n;
      let chosen: Host | undefined;
      for (let k = 0; k < n; k++) {
        const host = this.hosts[(start + k) % n] as Host;
        if (host === avoid || host.role !== role || !this.admits(host, now)) continue;
        if (chosen === undefined || host.inFlight < chosen.inFlight) chosen = host;
      }
      if (chosen) {
        const choice = this.take(chosen, route, now);
        if (choice) return choice;
      }
    }
    return undefined;
  }

  private admits(host: Host, now: number): boolean {
    // With a probe, only probes bring a failed host back; without one, its breaker's half-open calls do.
    return this.probe ? host.breaker.state === 'closed' : host.breaker.allows(now);
  }

  private take(host: Host, route: Route, now: number): HostChoice | undefined {
    if (route === 'write' && host.role !== 'primary') return undefined;
    if (!this.admits(host, now)) return undefined;
    const permit = host.breaker.acquire(now);
    return permit === REJECTED ? undefined : { host, permit };
  }

  /** One line for errors: each host's role and breaker state. */
  summary(now = coarseNow()): string {
    return this.hosts
      .map((h) => {
        const wait = h.breaker.retryAfterMs(now);
        return `${h.name} ${h.role} ${h.breaker.state}${wait > 0 ? ` (probe in ${Math.round(wait)} ms)` : ''}`;
      })
      .join(', ');
  }

  /** Stops health probing and aborts probes in flight. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.controller.abort();
  }

  /** @internal one probing round, run by the interval. */
  probeRound(): void {
    for (const host of this.hosts) {
      if (!this.probing.has(host)) void this.probeOne(host);
    }
  }

  private async probeOne(host: Host): Promise<void> {
    const probe = this.probe;
    if (!probe || this.controller.signal.aborted) return;
    this.probing.add(host);
    const controller = new AbortController();
    const stop = () => controller.abort(this.controller.signal.reason);
    this.controller.signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(
      () => controller.abort(new Error(`probe of ${host.name} timed out`)),
      this.probeTimeoutMs,
    );
    // A probe that ignores its signal must not keep the host out of probing for good: the abort ends the wait.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    let role: HostRole | undefined;
    let ok = false;
    try {
      role = await Promise.race([probe(host, controller.signal), aborted]);
      ok = !controller.signal.aborted;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      this.controller.signal.removeEventListener('abort', stop);
      this.probing.delete(host);
    }
    if (this.controller.signal.aborted) return;
    const now = coarseNow();
    if (ok) {
      if (role === 'primary' || role === 'replica') host.role = role;
      if (host.breaker.state === 'closed') return;
      const passes = (this.passes.get(host) ?? 0) + 1;
      this.passes.set(host, passes);
      if (passes >= this.probeSuccesses) {
        this.passes.delete(host);
        host.breaker.reset(now);
      }
    } else {
      this.passes.delete(host);
      host.breaker.trip(now);
    }
  }
}
brand(HostSet, 'HostSet');

const READ_ORDER: readonly HostRole[] = ['replica', 'primary'];
const WRITE_ORDER: readonly HostRole[] = ['primary'];

function probeAll(set: HostSet): void {
  set.probeRound();
}
