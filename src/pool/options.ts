// The pool's options: the Factory contract, PoolOptions with their defaults and ranges (checked once, at
// construction), and the checks of per-call arguments (acquire, release, drain).
import { InvalidOptionError, type OptionRules, validateOptions } from '../core/options.js';

/**
 * What the pool needs to know about a resource. `alive` must be synchronous and cheap (it runs on every
 * handout); for sockets it reads LiveSocket state.
 */
export interface Factory<T> {
  /** Opens a resource. Abort `signal` fires on `createTimeoutMs` or `drain()`; give up when it does. */
  create(signal: AbortSignal): Promise<T>;
  destroy(resource: T): void | Promise<void>;
  /** True while the resource can be used, as far as is known without I/O. */
  alive(resource: T): boolean;
  /** A round trip proving the resource works; run after `validateAfterIdleMs` of idleness and as keepalive. */
  ping?(resource: T, signal: AbortSignal): Promise<void>;
  /** Registers `callback` to run once when the resource dies on its own, so an idle one leaves at once. */
  onDeath?(resource: T, callback: (error?: Error) => void): void;
}

/** Options of {@link Pool}. Durations are in milliseconds; for the `0 = off` ones `Infinity` is also off. */
export interface PoolOptions<T> {
  factory: Factory<T>;
  /** Resources kept open even when idle, created at construction. Default 0; range 0–max. */
  min?: number;
  /** Upper bound on resources, lent out or not. Default 10; range 1–100 000. */
  max?: number;
  /** How long an acquire waits before AcquireTimeoutError. Default 30 000; `Infinity` waits forever. */
  acquireTimeoutMs?: number;
  /** How long one `factory.create()` may take before its signal aborts. Default 30 000. */
  createTimeoutMs?: number;
  /** Idle resources above `min` are destroyed after this long unused. Default 30 000; 0 = off. */
  idleTimeoutMs?: number;
  /** Idle resources above this count (and above `min`) are destroyed, coldest first, at housekeeping. Default max. */
  maxIdle?: number;
  /** Resources are retired after this age (busy ones on release). Default 1 800 000 (30 min); 0 = off. */
  maxLifetimeMs?: number;
  /** Each resource's lifetime is shortened by a random fraction up to this. Default 0.1; range [0, 0.5]. */
  lifetimeJitter?: number;
  /** Idle resources are pinged (or at least `alive()`-checked) this often. Default 0 = off. */
  keepaliveIntervalMs?: number;
  /**
   * A resource idle at least this long gets one event-loop turn (so pending FIN/RST events land) and a
   * ping, if the factory has one, before handout. Default 100; 0 = before every handout of an idle one.
   */
  validateAfterIdleMs?: number;
  /** How long a ping may take before the resource counts as dead. Default 5 000. */
  pingTimeoutMs?: number;
  /** A resource lent out longer than this emits `leak` with the acquiring stack. Default 0 = off. */
  leakDetectionMs?: number;
  /** Creates in flight at once. Default 2; range 1–1000. */
  createConcurrency?: number;
  /** Backoff between creates while they fail: full jitter, doubling from base to max. Default 100 / 5 000. */
  createRetry?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Which idle resource is reused first: the most recently released (`lifo`, default) or the oldest. */
  idleOrder?: 'lifo' | 'fifo';
}

/** Options with defaults applied; `0 = off` durations normalised to Infinity. */
export interface ResolvedPoolOptions<T> {
  readonly factory: Factory<T>;
  readonly min: number;
  readonly max: number;
  readonly acquireTimeoutMs: number;
  readonly createTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxIdle: number;
  readonly maxLifetimeMs: number;
  readonly lifetimeJitter: number;
  readonly keepaliveIntervalMs: number;
  readonly validateAfterIdleMs: number;
  readonly pingTimeoutMs: number;
  readonly leakDetectionMs: number;
  readonly createConcurrency: number;
  readonly createRetryBaseDelayMs: number;
  readonly createRetryMaxDelayMs: number;
  readonly idleOrder: 'lifo' | 'fifo';
}

/**
 * The most resources a pool may hold. Nothing is sized by it up front (the idle list and the queue grow as
 * needed); the bound turns a typo (`max: 1e9`) into an InvalidOptionError instead of a pool that tries.
 */
export const MAX_POOL_SIZE = 100_000;
const MAX_CREATE_CONCURRENCY = 1000;

const duration = { kind: 'number', min: 0, infinity: true } as const;
const positiveDuration = { kind: 'number', min: 1, infinity: true } as const;

const RULES: OptionRules = {
  factory: {
    kind: 'object',
    required: true,
    open: true,
    rules: {
      create: { kind: 'function', required: true },
      destroy: { kind: 'function', required: true },
      alive: { kind: 'function', required: true },
      ping: { kind: 'function' },
      onDeath: { kind: 'function' },
    },
  },
  min: { kind: 'number', min: 0, max: MAX_POOL_SIZE, integer: true },
  max: { kind: 'number', min: 1, max: MAX_POOL_SIZE, integer: true },
  acquireTimeoutMs: positiveDuration,
  createTimeoutMs: positiveDuration,
  idleTimeoutMs: duration,
  maxIdle: { kind: 'number', min: 0, max: MAX_POOL_SIZE, integer: true },
  maxLifetimeMs: duration,
  lifetimeJitter: { kind: 'number', min: 0, max: 0.5 },
  keepaliveIntervalMs: duration,
  validateAfterIdleMs: duration,
  pingTimeoutMs: positiveDuration,
  leakDetectionMs: duration,
  createConcurrency: { kind: 'number', min: 1, max: MAX_CREATE_CONCURRENCY, integer: true },
  createRetry: {
    kind: 'object',
    rules: { baseDelayMs: { kind: 'number', min: 1 }, maxDelayMs: { kind: 'number', min: 1 } },
  },
  idleOrder: { kind: 'enum', values: ['lifo', 'fifo'] },
};

const offWhenZero = (ms: number): number => (ms === 0 ? Number.POSITIVE_INFINITY : ms);

/** Validates once, at construction: every problem throws InvalidOptionError naming the option. */
export function resolvePoolOptions<T>(options: PoolOptions<T>): ResolvedPoolOptions<T> {
  validateOptions('Pool', options, RULES);
  const min = options.min ?? 0;
  const max = options.max ?? 10;
  if (min > max) throw new InvalidOptionError('Pool', 'min', `must be <= max (${max})`, min);
  const baseDelayMs = options.createRetry?.baseDelayMs ?? 100;
  const maxDelayMs = options.createRetry?.maxDelayMs ?? Math.max(5000, baseDelayMs);
  if (maxDelayMs < baseDelayMs) {
    throw new InvalidOptionError(
      'Pool',
      'createRetry.maxDelayMs',
      `must be >= baseDelayMs (${baseDelayMs})`,
      maxDelayMs,
    );
  }
  return {
    factory: options.factory,
    min,
    max,
    acquireTimeoutMs: options.acquireTimeoutMs ?? 30_000,
    createTimeoutMs: options.createTimeoutMs ?? 30_000,
    idleTimeoutMs: offWhenZero(options.idleTimeoutMs ?? 30_000),
    maxIdle: options.maxIdle ?? max,
    maxLifetimeMs: offWhenZero(options.maxLifetimeMs ?? 30 * 60_000),
    lifetimeJitter: options.lifetimeJitter ?? 0.1,
    keepaliveIntervalMs: offWhenZero(options.keepaliveIntervalMs ?? 0),
    validateAfterIdleMs: options.validateAfterIdleMs ?? 100,
    pingTimeoutMs: options.pingTimeoutMs ?? 5000,
    leakDetectionMs: offWhenZero(options.leakDetectionMs ?? 0),
    createConcurrency: options.createConcurrency ?? 2,
    createRetryBaseDelayMs: baseDelayMs,
    createRetryMaxDelayMs: maxDelayMs,
    idleOrder: options.idleOrder ?? 'lifo',
  };
}

// Per-call arguments are checked inline (not with validateOptions): acquire with a signal is common, and
// these checks run only when options are given.

/** The problem with `acquire`'s options, or undefined. */
export function invalidAcquireOptions(options: unknown): InvalidOptionError | undefined {
  const owner = 'Pool.acquire';
  if (typeof options !== 'object' || options === null) {
    return new InvalidOptionError(owner, 'options', 'must be an object { signal?, timeoutMs? }', options, {
      argument: true,
    });
  }
  const { signal, timeoutMs } = options as { signal?: unknown; timeoutMs?: unknown };
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return new InvalidOptionError(owner, 'signal', 'must be an AbortSignal', signal);
  }
  return invalidTimeout(owner, timeoutMs, 1);
}

/** The problem with `drain`'s options, or undefined. */
export function invalidDrainOptions(options: unknown): InvalidOptionError | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    return new InvalidOptionError('Pool.drain', 'options', 'must be an object { timeoutMs? }', options, {
      argument: true,
    });
  }
  return invalidTimeout('Pool.drain', (options as { timeoutMs?: unknown }).timeoutMs, 0);
}

/** Throws when `release`'s options are not `{ destroy?: boolean, error?: unknown }`. */
export function checkReleaseOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(
      'Pool.release',
      'options',
      'must be an object { destroy?, error? }',
      options,
      {
        argument: true,
      },
    );
  }
  const destroy = (options as { destroy?: unknown }).destroy;
  if (destroy !== undefined && typeof destroy !== 'boolean') {
    throw new InvalidOptionError('Pool.release', 'destroy', 'must be a boolean', destroy);
  }
}

function invalidTimeout(owner: string, timeoutMs: unknown, min: number): InvalidOptionError | undefined {
  if (timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= min)) return undefined;
  return new InvalidOptionError(owner, 'timeoutMs', `must be a number in [${min}, Infinity]`, timeoutMs);
}
