// The pool's public call and event types: per-call options of acquire/release, and the events it emits.
import type { EventEmitter } from 'node:events';
import type { EvictReason } from './stats.js';

/** Per-call options of {@link Pool.acquire}. */
export interface AcquireOptions {
  /** Aborting rejects the acquire with AbortError (cause = `signal.reason`) unless already handed out. */
  signal?: AbortSignal;
  /** Overrides the pool's `acquireTimeoutMs` for this call. */
  timeoutMs?: number;
}

/** Per-call options of {@link Pool.release}. */
export interface ReleaseOptions {
  /** Destroy instead of returning to the pool. */
  destroy?: boolean;
  /** The error the caller saw on this resource (any value); its presence destroys the resource. */
  error?: unknown;
}

/** Payload of the `leak` event. */
export interface LeakReport<T> {
  resource: T;
  /** How long it has been lent out, in ms. */
  heldMs: number;
  /** Stack of the `acquire()` call that took it. */
  stack: string;
}

/** Events of {@link Pool}, with their listener arguments. */
export type PoolEvents<T> = {
  /** A new resource was created. */
  create: [resource: T];
  /** A resource was handed to a caller. */
  acquire: [resource: T];
  /** A caller gave a resource back (before the pool decides to keep or destroy it). */
  release: [resource: T];
  /** A resource was found dead (onDeath, or alive() false); once per resource. */
  death: [resource: T, error: Error | undefined];
  /** The pool destroyed a resource, and why. */
  evict: [resource: T, reason: EvictReason];
  /** A resource has been lent out longer than `leakDetectionMs`; once per acquire. */
  leak: [report: LeakReport<T>];
  /**
   * A background failure: a create or a destroy that failed, a resource created dead (CreatedDeadError), or
   * a factory callback that threw (FactoryCallbackError). Emitted only while someone listens, so an
   * unobserved failing database cannot crash the process through an unhandled 'error' event.
   */
  error: [error: Error];
};

/** The emitter the pool's parts report through: the Pool itself. */
export type PoolEmitter<T> = EventEmitter<PoolEvents<T>>;

/** Any thrown value as an Error. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
