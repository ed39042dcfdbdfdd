// Over 400 lines on purpose: NetnsHost's setup, faults and teardown are one lifecycle over the same namespace,
// veth pair and iptables rules; the proxy's userspace faults live in proxy.ts and toxics/.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { brand } from '../core/brand.js';
import { LifelineError } from '../core/errors.js';
import { InvalidOptionError, validateOptions } from '../core/options.js';

/**
 * A server in its own Linux network namespace, joined to this one by a veth pair, where packets can be
 * dropped in the kernel. A userspace proxy keeps ACKing, so only this tests TCP keepalive and
 * TCP_USER_TIMEOUT honestly.
 *
 * Every rule lives inside the namespace, on its own veth end: the host's firewall is never touched.
 * Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking space), one /30 per host, so hosts of
 * several processes coexist.
 */

/** The environment cannot create network namespaces (not Linux, not root, a tool missing). */
export class NetnsUnavailableError extends LifelineError {
  constructor(reason: string) {
    super(
      'LIFELINE_NETNS_UNAVAILABLE',
      `network namespaces are unavailable: ${reason}. Run as root on Linux with iproute2, iptables and socat ` +
        'installed, or use the userspace FaultProxy',
    );
  }
}
brand(NetnsUnavailableError, 'NetnsUnavailableError');

/** A command that sets up or changes a namespace failed. */
export class NetnsCommandError extends LifelineError {
  constructor(command: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      'LIFELINE_NETNS_COMMAND_FAILED',
      `\`${command}\` failed: ${detail.trim().replace(/[.]$/, '')}. A NetnsHost needs root on Linux with iproute2, iptables and socat, ` +
        'and one that was destroyed cannot be used again: create a new one',
      { cause },
    );
  }
}
brand(NetnsCommandError, 'NetnsCommandError');

/** The kernel has no tc netem, so kernel-level delay cannot be injected. */
export class NetemUnavailableError extends LifelineError {
  constructor() {
    super(
      'LIFELINE_NETEM_UNAVAILABLE',
      'NetnsHost.delay() needs the tc netem qdisc, which this kernel does not have. ' +
        "Use the FaultProxy's latency toxic for delays; NetnsHost offers blackhole() and loss()",
    );
  }
}
brand(NetemUnavailableError, 'NetemUnavailableError');

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
/** 198.18.0.0/15 holds 2^17 addresses: 32768 blocks of four. */
const BLOCK_COUNT = 32768;
const NETWORK_BASE = (198 * 2 ** 24 + 18 * 2 ** 16) >>> 0;
const LOCK_DIR = '/run/lifeline-netns';
const DEFAULT_PREFIX = 'll';
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,5}$/;
/** How long serve() waits for its relay to accept a connection. */
const SERVE_WAIT_MS = 5000;

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {}
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function effectiveCapabilities(): bigint | undefined {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    return match?.[1] === undefined ? undefined : BigInt(`0x${match[1]}`);
  } catch {
    return undefined;
  }
}

/** Why network namespaces cannot be used here, or undefined when they can. Synchronous and cheap. */
export function netnsSupport(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (platform is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (network namespaces need root)';
  const caps = effectiveCapabilities();
  if (caps !== undefined && ((caps >> CAP_SYS_ADMIN) & 1n) === 0n)
    return 'no CAP_SYS_ADMIN (the container cannot create network namespaces)';
  if (caps !== undefined && ((caps >> CAP_NET_ADMIN) & 1n) === 0n) return 'no CAP_NET_ADMIN';
  for (const tool of ['ip', 'iptables', 'socat']) {
    if (findExecutable(tool) === undefined) return `no \`${tool}\` executable on PATH`;
  }
  return undefined;
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new NetnsCommandError(`${command} ${args.join(' ')}`, stderr || error));
      else resolve(stdout);
    });
  });
}

function runSyncQuietly(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString();
  } catch {
    return '';
  }
}

function ipv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hostLinkName(block: number): string {
  return `lv${block}a`;
}

function nsLinkName(block: number): string {
  return `lv${block}b`;
}

/** Kills a namespace's processes (they would keep it alive) and deletes it. Synchronous for 'exit'. */
function removeNamespace(name: string): void {
  for (const pid of runSyncQuietly('ip', ['netns', 'pids', name]).split(/\s+/)) {
    const n = Number(pid);
    if (pid !== '' && Number.isInteger(n)) {
      try {
        process.kill(n, 'SIGKILL');
      } catch {}
    }
  }
  runSyncQuietly('ip', ['netns', 'del', name]);
}

/** Removes a host: its namespace, its veth pair and its block's lock file. */
function teardown(name: string, block: number): void {
  if (name !== '') removeNamespace(name);
  // Deleting the namespace frees its veth end asynchronously; deleting ours now frees the pair at once.
  runSyncQuietly('ip', ['link', 'del', hostLinkName(block)]);
  try {
    fs.unlinkSync(path.join(LOCK_DIR, `block-${block}`));
  } catch {}
}

interface BlockLock {
  pid: number;
  name: string;
}

function readLock(file: string): BlockLock | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed && 'name' in parsed) {
      const { pid, name } = parsed;
      if (typeof pid === 'number' && typeof name === 'string') return { pid, name };
    }
  } catch {}
  return undefined;
}

/** Removes what processes that died without cleaning up left behind (lock files and namespaces). */
function sweepLeftovers(): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(LOCK_DIR);
  } catch {}
  for (const entry of entries) {
    const match = /^block-(\d+)$/.exec(entry);
    if (!match) continue;
    const lock = readLock(path.join(LOCK_DIR, entry));
    if (lock === undefined || !pidAlive(lock.pid)) teardown(lock?.name ?? '', Number(match[1]));
  }
  // Namespaces whose lock file vanished: our default naming carries the owner's pid.
  for (const line of runSyncQuietly('ip', ['netns', 'list']).split('\n')) {
    const match = /^(ll-(\d+)-\d+)\b/.exec(line);
    if (match?.[1] !== undefined && !pidAlive(Number(match[2]))) removeNamespace(match[1]);
  }
}

function claimBlock(name: string): number {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  const start = (process.pid * 131 + sequence * 7) % BLOCK_COUNT;
  for (let i = 0; i < BLOCK_COUNT; i++) {
    const block = (start + i) % BLOCK_COUNT;
    try {
      fs.writeFileSync(path.join(LOCK_DIR, `block-${block}`), JSON.stringify({ pid: process.pid, name }), {
        flag: 'wx',
      });
      return block;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new NetnsCommandError('claim block', error);
    }
  }
  throw new NetnsCommandError('claim block', new Error('every /30 block of 198.18.0.0/15 is in use'));
}

const live = new Set<NetnsHost>();
let sequence = 0;
let exitHookInstalled = false;

function destroyAll(): void {
  for (const host of live) host.destroySync();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', destroyAll);
  // 'exit' does not run when a signal kills the process (node:test stops a timed-out file with SIGTERM).
  // Only when nobody else handles the signal: clean up, then die of it as the default would.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      destroyAll();
      process.kill(process.pid, signal);
    });
  }
}

export interface NetnsHostOptions {
  /** Start of the namespace name, 1–6 lowercase letters or digits; default 'll'. */
  prefix?: string;
}

/** Where a relay inside the namespace listens; dial this to reach an in-process server through the veth. */
export interface NetnsEndpoint {
  host: string;
  port: number;
}

type Rules = 'clear' | 'blackhole' | { lossPercent: number };

/** A network namespace joined to this one by a veth pair; see the module comment. */
export class NetnsHost {
  /** Namespace name, e.g. `ll-1234-0`. */
  readonly name: string;
  /** Address inside the namespace (the "remote host"). */
  readonly address: string;
  /** Address of this side of the veth pair; in-process servers listen here to be reachable from inside. */
  readonly gatewayAddress: string;
  readonly #block: number;
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;

  private constructor(name: string, block: number) {
    this.name = name;
    this.#block = block;
    this.gatewayAddress = ipv4(NETWORK_BASE + block * 4 + 1);
    this.address = ipv4(NETWORK_BASE + block * 4 + 2);
  }

  /** Creates the namespace, the veth pair and the addresses. Throws NetnsUnavailableError when it cannot. */
  static async create(options: NetnsHostOptions = {}): Promise<NetnsHost> {
    validateOptions('NetnsHost', options, { prefix: { kind: 'string' } });
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new InvalidOptionError(
        'NetnsHost',
        'prefix',
        'must be 1–6 lowercase letters or digits, starting with a letter',
        prefix,
      );
    }
    const unsupported = netnsSupport();
    if (unsupported !== undefined) throw new NetnsUnavailableError(unsupported);
    sweepLeftovers();
    installExitHook();
    const name = `${prefix}-${process.pid}-${sequence}`;
    const block = claimBlock(name);
    sequence++;
    const host = new NetnsHost(name, block);
    live.add(host);
    try {
      // A crashed create may have left this block's veth behind.
      runSyncQuietly('ip', ['link', 'del', hostLinkName(block)]);
      const outside = hostLinkName(block);
      const inside = nsLinkName(block);
      await run('ip', ['netns', 'add', name]);
      await run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      await run('ip', ['link', 'set', inside, 'netns', name]);
      await run('ip', ['addr', 'add', `${host.gatewayAddress}/30`, 'dev', outside]);
      await run('ip', ['link', 'set', outside, 'up']);
      await run('ip', ['-n', name, 'addr', 'add', `${host.address}/30`, 'dev', inside]);
      await run('ip', ['-n', name, 'link', 'set', inside, 'up']);
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      host.destroySync();
      throw error;
    }
    return host;
  }

  /** Starts `command args` inside the namespace. The child is killed by destroy() and at process exit. */
  run(command: string, args: readonly string[] = []): ChildProcess {
    this.#assertAlive();
    const child = spawn('ip', ['netns', 'exec', this.name, command, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * Makes the in-process server listening on `gatewayAddress:targetPort` (or a wildcard address) reachable
   * at `address:port` inside the namespace, through a socat relay in the namespace. Resolves once the relay
   * accepts connections.
   */
  async serve(targetPort: number, options: { port?: number } = {}): Promise<NetnsEndpoint> {
    const port = options.port ?? targetPort;
    const relay = this.run('socat', [
      `TCP-LISTEN:${port},bind=${this.address},fork,reuseaddr`,
      `TCP:${this.gatewayAddress}:${targetPort}`,
    ]);
    let stderr = '';
    relay.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + SERVE_WAIT_MS;
    while (Date.now() < deadline) {
      if (relay.exitCode !== null) break;
      if (await this.#accepts(port, deadline - Date.now())) return { host: this.address, port };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    relay.kill('SIGKILL');
    throw new NetnsCommandError(
      `socat relay on ${this.address}:${port}`,
      new Error(stderr || `no connection accepted within ${SERVE_WAIT_MS / 1000} s`),
    );
  }

  /** One connect to the relay; gives up after `waitMs`, since a dropped SYN gets no answer at all. */
  #accepts(port: number, waitMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = net.connect({ host: this.address, port, timeout: Math.max(1, waitMs) });
      const done = (accepted: boolean) => {
        probe.destroy();
        resolve(accepted);
      };
      probe.once('connect', () => done(true));
      probe.once('timeout', () => done(false));
      probe.once('error', () => done(false));
    });
  }

  /** Drops every packet in and out of the namespace, silently: no RST, no ICMP. */
  blackhole(): Promise<void> {
    return this.#setRules('blackhole');
  }

  /** Drops each packet, in and out, with probability `percent`/100. */
  loss(percent: number): Promise<void> {
    if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
      throw new InvalidOptionError('NetnsHost.loss', 'percent', 'must be a number from 0 to 100', percent);
    }
    return this.#setRules({ lossPercent: percent });
  }

  /** Always throws NetemUnavailableError: the kernel here has no netem. */
  delay(_ms: number): never {
    throw new NetemUnavailableError();
  }

  /** Removes every drop rule. */
  heal(): Promise<void> {
    return this.#setRules('clear');
  }

  async #setRules(rules: Rules): Promise<void> {
    this.#assertAlive();
    const inside = nsLinkName(this.#block);
    const iptables = (args: string[]) => run('ip', ['netns', 'exec', this.name, 'iptables', ...args]);
    await iptables(['-F', 'INPUT']);
    await iptables(['-F', 'OUTPUT']);
    if (rules === 'clear') return;
    const match =
      rules === 'blackhole'
        ? []
        : ['-m', 'statistic', '--mode', 'random', '--probability', String(rules.lossPercent / 100)];
    await iptables(['-A', 'INPUT', '-i', inside, ...match, '-j', 'DROP']);
    await iptables(['-A', 'OUTPUT', '-o', inside, ...match, '-j', 'DROP']);
  }

  /** Kills the namespace's processes and removes it with its veth pair. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    const exits = [...this.#children].map(
      (child) => new Promise<void>((resolve) => child.once('exit', () => resolve())),
    );
    this.destroySync();
    await Promise.all(exits);
  }

  /** The synchronous teardown destroy() and the process 'exit' hook share. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const child of this.#children) child.kill('SIGKILL');
    teardown(this.name, this.#block);
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new NetnsCommandError(`use of ${this.name}`, new Error('host was destroyed'));
  }
}
brand(NetnsHost, 'NetnsHost');
