// The one event rule: how lifeline calls code that listens to it (event listeners, callbacks, close hooks).
//
// A listener that throws never breaks lifeline's own state and never stops the other listeners: its error is
// rethrown on the next tick, where it reaches process 'uncaughtException' as a throwing EventEmitter listener
// would (a bug in a listener crashes the process unless the application handles it), instead of unwinding
// through the pool, the socket or the call that was reporting.
import { EventEmitter } from 'node:events';

function rethrow(error: unknown): never {
  throw error;
}

/** Reports a listener's throw under the rule: rethrown on the next tick, out of lifeline's stack. */
export function listenerFailed(error: unknown): void {
  process.nextTick(rethrow, error);
}

/** Calls `listener(event)` under the rule. */
export function notify<E>(listener: (event: E) => void, event: E, self?: unknown): void {
  try {
    listener.call(self, event);
  } catch (error) {
    listenerFailed(error);
  }
}

/** Listeners of one event: added, removed, and called in the order added, under the rule. */
export class Listeners<E> {
  readonly #set = new Set<(event: E) => void>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: (event: E) => void): void {
    this.#set.add(listener);
  }

  delete(listener: (event: E) => void): boolean {
    return this.#set.delete(listener);
  }

  emit(event: E): void {
    for (const listener of this.#set) notify(listener, event);
  }
}

/**
 * For a class extending EventEmitter: its `emit` under the rule, so a throwing listener (or an 'error'
 * nobody listens to) is rethrown on the next tick instead of into the code that emitted. Install once on the
 * prototype: `Object.defineProperty(Pool.prototype, 'emit', { value: guardedEmit })`.
 */
export function guardedEmit(this: EventEmitter, name: string | symbol, ...args: unknown[]): boolean {
  try {
    return EventEmitter.prototype.emit.call(this, name, ...args);
  } catch (error) {
    listenerFailed(error);
    return true;
  }
}
