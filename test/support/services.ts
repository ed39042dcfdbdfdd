import net from 'node:net';
import type { TestContext } from 'node:test';

/** Addresses of the real servers the suite talks to; each can be moved with an environment variable. */
export const services = {
  postgres: {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    database: process.env.PGDATABASE ?? 'test',
  },
  mysql: {
    host: process.env.MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.MYSQL_PORT ?? 3306),
    user: process.env.MYSQL_USER ?? 'root',
    database: process.env.MYSQL_DATABASE ?? 'test',
  },
  redis: {
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
  },
} as const;

export type ServiceName = keyof typeof services;

const reachable = new Map<ServiceName, Promise<boolean>>();

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Outside CI a missing service skips the test with a loud reason; under CI=true it fails the test,
 * because a green run that skipped its real-server tests proves nothing.
 */
export async function requireService(t: TestContext, name: ServiceName): Promise<boolean> {
  const { host, port } = services[name];
  let pending = reachable.get(name);
  if (!pending) {
    pending = probe(host, port);
    reachable.set(name, pending);
  }
  if (await pending) return true;
  const reason = `${name} is not reachable at ${host}:${port}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: real-server tests must run)`);
  console.warn(`\n!!! SKIPPED: ${reason} — start it to run this test`);
  t.skip(`SKIPPED: ${reason}`);
  return false;
}

/**
 * Skips (or under CI fails) when `why` is a reason the environment cannot run the test, e.g. not root.
 * Returns true when the test may run. A missing system tool is not such a reason: it never fails, see
 * requireTools in tools.ts.
 */
export function requireCapability(t: TestContext, why: string | undefined): boolean {
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`${why} (CI=true: this test must run)`);
  console.warn(`\n!!! SKIPPED: ${why}`);
  t.skip(`SKIPPED: ${why}`);
  return false;
}

/**
 * requireCapability's rule as a `describe`/`test` `skip` option, for tests that cannot check for themselves:
 * outside CI the loud reason, under CI=true false (the tests run and fail, as requireCapability makes them).
 */
export function capabilitySkip(why: string | undefined): string | false {
  if (why === undefined || process.env.CI === 'true') return false;
  console.warn(`\n!!! SKIPPED: ${why}`);
  return `SKIPPED: ${why}`;
}
