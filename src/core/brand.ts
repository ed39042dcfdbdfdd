// Class identity that survives two copies of lifeline in one process (the ESM and the CJS build, two bundles,
// another vm realm): `instanceof` reads a Symbol.for brand instead of the prototype chain, as undici does.

/**
 * Brands `cls` as `lifeline-net.<name>`: its prototype carries the global symbol, and `x instanceof cls` is
 * true for any object whose prototype chain carries it, whichever copy of the class made it. A subclass
 * branded in turn keeps subclass semantics (a PoolDrainingError is instanceof PoolDrainingError and
 * LifelineError, not of a sibling); a subclass not branded (a user's) gets ordinary `instanceof`.
 */
export function brand(cls: { readonly prototype: object }, name: string): void {
  const key = Symbol.for(`lifeline-net.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, value);
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true;
    },
  });
}
