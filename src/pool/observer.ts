// The one hook the observe layer needs that the pool's events and stats do not give: durations (wait, use,
// create). Off by default; when off each site costs one field read. Set by observe's instrument().
import type { Pool } from './pool.js';

/** Receives durations in whole milliseconds (the pool's clock). Must not throw and must be cheap. */
export interface PoolObserver {
  /**
   * An acquire was answered with a resource after waiting `ms` ≥ 1. Waits under 1 ms are not reported (the
   * hot path stays free of a call): they are stats().acquired minus the waits reported.
   */
  waited(ms: number): void;
  /** A resource came back after being lent out for `ms` ≥ 1 (shorter uses: stats().released minus these). */
  used(ms: number): void;
  /** The factory created a resource in `ms`. */
  created(ms: number): void;
}

interface Observable {
  core: { observer: PoolObserver | undefined };
}

// A global symbol, not a module-level map: an adapter's bundle (lifeline-net/pg) and the entry point's may each
// hold a copy of this module.
const CORE_POOL = Symbol.for('lifeline-net.corePool');

/** An adapter's pool (pg's, mysql's) names the core Pool under it, so observe can instrument either. */
export function registerPoolFacade<T>(facade: object, pool: Pool<T>): void {
  Object.defineProperty(facade, CORE_POOL, { value: pool, configurable: true });
}

/** The core Pool behind an adapter's pool registered with registerPoolFacade, or undefined. */
export function poolBehind(facade: object): Pool<unknown> | undefined {
  return (facade as Record<symbol, Pool<unknown> | undefined>)[CORE_POOL];
}

/** Attaches `observer` to `pool` (replacing any), or detaches it with undefined. */
export function setPoolObserver<T>(pool: Pool<T>, observer: PoolObserver | undefined): void {
  (pool as unknown as Observable).core.observer = observer;
}
