/**
 * Shared pieces of the lifeline-net/redis tests: a fault proxy in front of the machine's Redis, a key prefix
 * per test (removed afterwards), a plain admin connection, and the fault that loses exactly one reply.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis as PlainRedis } from 'ioredis';
import { FaultProxy } from '../../../src/faults/index.js';
import { requireService, services } from '../../support/services.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Lab {
  proxy: FaultProxy;
  host: string;
  port: number;
  /** A prefix no other test uses; every key under it is deleted when the test ends. */
  prefix: string;
  /** A plain ioredis connection straight to the server (no proxy), for setup and checks. */
  admin: PlainRedis;
}

/** Runs `fn` with a fault proxy in front of Redis; false when Redis is not reachable (the test is skipped). */
export async function withLab(t: TestContext, fn: (lab: Lab) => Promise<void>): Promise<void> {
  if (!(await requireService(t, 'redis'))) return;
  const proxy = new FaultProxy({
    listen: '127.0.0.1:0',
    upstream: `${services.redis.host}:${services.redis.port}`,
    seed: 12,
  });
  const { host, port } = await proxy.start();
  const admin = new PlainRedis({ host: services.redis.host, port: services.redis.port, lazyConnect: true });
  await admin.connect();
  const prefix = `lifeline:test:${randomUUID()}:`;
  try {
    await fn({ proxy, host, port, prefix, admin });
  } finally {
    await proxy.stop();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  }
}

/** Resolves once `emitter` emits `event` (bounded by the test's own timeout). */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (value: T) => resolve(value)));
}

/** The newest proxy connection: with one client and no other traffic, the one carrying it. */
export function newestConnection(proxy: FaultProxy): number {
  const all = proxy.connections();
  const last = all[all.length - 1];
  assert.ok(last, 'the client is connected through the proxy');
  return last.id;
}

/**
 * The next reply the server sends on `connection` never arrives: the proxy resets the connection when it
 * sees it (the request got through and was applied; only its answer is lost).
 */
export function loseNextReply(proxy: FaultProxy, connection: number): void {
  const info = proxy.connections().find((c) => c.id === connection);
  assert.ok(info, `proxy connection ${connection} is open`);
  proxy.addToxic({
    name: `lose-reply-${connection}-${info.bytes.downstream}`,
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
    target: { connection, afterBytes: info.bytes.downstream },
  });
}

/** Waits until `check()` holds, polling; bounded by the test's timeout. */
export async function until(check: () => boolean | Promise<boolean>, everyMs = 20): Promise<void> {
  while (!(await check())) await sleep(everyMs);
}

/** Every value appears once. */
export function assertNoDuplicates(values: readonly string[], what: string): void {
  const seen = new Set<string>();
  const doubled = values.filter((v) => {
    if (seen.has(v)) return true;
    seen.add(v);
    return false;
  });
  assert.deepEqual(doubled, [], `${what}: applied twice`);
}
