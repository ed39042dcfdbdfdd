// Read-your-writes and primary-only scopes for reads on replicas: one AsyncLocalStorage the app opens per request.
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { PoolClient } from './types.js';

/**
 * One logical context (a request, a job). `writes` holds, per router (one per Pool with replicas), the moment
 * (performance.now()) the last statement that ran on the primary in this context was answered: a replica may
 * serve this context's reads only once it has replayed a primary WAL position sampled after that moment.
 */
export interface RwContext {
  writes: Map<object, number> | undefined;
  /** Every statement in this scope goes to the primary (onPrimary). */
  primary: boolean;
}

const storage = new AsyncLocalStorage<RwContext>();

/** The context the caller runs in, if any: one property read when none was opened. */
export function currentContext(): RwContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` in a read-your-writes context: inside it (and everything it awaits or schedules), a read that
 * follows a write made through a lifeline-net/pg Pool with replicas goes only to a replica that has replayed
 * that write, else to the primary. Open one per request (`app.use((req, res, next) => readYourWrites(next))`).
 * Nested calls join the context already open.
 */
export function readYourWrites<T>(fn: () => T): T {
  const open = storage.getStore();
  if (open !== undefined) return fn();
  return storage.run({ writes: undefined, primary: false }, fn);
}

/** Runs `fn` with every statement of every lifeline-net/pg Pool sent to the primary (reads included). */
export function onPrimary<T>(fn: () => T): T {
  const open = storage.getStore();
  return storage.run({ writes: open?.writes, primary: true }, fn);
}

/** Notes that a statement ran on `router`'s primary and was just answered (the context must see it from now on). */
export function markWrite(context: RwContext, router: object): void {
  context.writes ??= new Map();
  context.writes.set(router, performance.now());
}

/** When the context's last primary statement through `router` was answered, or undefined. */
export function lastWrite(context: RwContext | undefined, router: object): number | undefined {
  return context?.writes?.get(router);
}

const pinned = new WeakSet<object>();

/**
 * Keeps a checked-out client's reads on its own (primary) connection until it is released: for a session whose
 * reads depend on session state (temporary tables, SET) or must see what it did before. Returns the client.
 */
export function usePrimary<C extends PoolClient>(client: C): C {
  pinned.add(client);
  return client;
}

/** Whether the client was pinned with usePrimary (or wrote) since it was checked out. */
export function isPinned(client: object): boolean {
  return pinned.has(client);
}

/** The client leaves its checkout: the next caller starts unpinned. */
export function unpin(client: object): void {
  pinned.delete(client);
}

/** Pins a client whose session wrote: its later reads stay on it, so they see the write. */
export const pinAfterWrite = (client: object): void => {
  pinned.add(client);
};
