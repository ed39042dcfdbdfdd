import { createRequire } from 'node:module';
import { brand } from '../../core/brand.js';
import { LifelineError } from '../../core/errors.js';

/** The driver lifeline-net/redis was asked to drive is not installed (it is an optional peer dependency). */
export class RedisDriverMissingError extends LifelineError {
  constructor(driver: string, exported: string, cause: unknown) {
    super(
      'LIFELINE_DRIVER_MISSING',
      `lifeline-net/redis's ${exported} drives the '${driver}' package, which is not installed: run npm install ${driver}`,
      { cause },
    );
  }
}
brand(RedisDriverMissingError, 'RedisDriverMissingError');

const require = createRequire(import.meta.url);

/**
 * Loads a peer driver when lifeline-net/redis is imported, so an application that uses only one of ioredis and
 * node-redis needs only that one installed. A missing driver gives a stand-in whose construction or call throws
 * RedisDriverMissingError.
 */
export function loadDriver<T>(driver: string, exported: string): T {
  try {
    return require(driver) as T;
  } catch (error) {
    const missing = function missingDriver(): never {
      throw new RedisDriverMissingError(driver, exported, error);
    };
    return new Proxy({}, { get: () => missing }) as T;
  }
}
