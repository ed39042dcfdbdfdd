/**
 * lifeline's table of commands safe to send twice, checked against the running server's own flags
 * (COMMAND INFO), and the argument rules of the idempotent writes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis as PlainRedis } from 'ioredis';
import {
  BLOCKING,
  IDEMPOTENT_WRITES,
  isBlocking,
  isSafeToResend,
  READ_ONLY,
  SAFE_NON_DATA,
} from '../../../src/protocols/redis-commands.js';
import { requireService, services } from '../../support/services.js';

type Entry = [string, number, string[], ...unknown[]];

/** `name → flags` for every command and subcommand the server knows (`client|list`). */
async function serverFlags(): Promise<Map<string, string[]>> {
  const redis = new PlainRedis({ host: services.redis.host, port: services.redis.port, lazyConnect: true });
  await redis.connect();
  try {
    const info = (await redis.command('INFO')) as Entry[];
    const flags = new Map<string, string[]>();
    const walk = (entry: Entry) => {
      const [name, , entryFlags] = entry;
      flags.set(String(name).toLowerCase(), entryFlags.map(String));
      const subcommands = entry[9];
      if (Array.isArray(subcommands)) for (const sub of subcommands as Entry[]) walk(sub);
    };
    for (const entry of info) walk(entry);
    return flags;
  } finally {
    redis.disconnect();
  }
}

describe('the resend table against the server', () => {
  test('READ_ONLY is exactly what the server flags readonly (leaf commands)', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const flags = await serverFlags();
    const containers = new Set(
      [...flags.keys()].filter((n) => [...flags.keys()].some((m) => m.startsWith(`${n}|`))),
    );
    const serverReadOnly = [...flags]
      .filter(([name, f]) => f.includes('readonly') && !containers.has(name))
      .map(([name]) => name)
      .sort();
    assert.deepEqual([...READ_ONLY].sort(), serverReadOnly);
  });

  test('curated entries exist on the server, with the flags that justify them', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const flags = await serverFlags();
    for (const name of SAFE_NON_DATA) {
      const f = flags.get(name);
      assert.ok(f, `${name} exists`);
      assert.ok(
        !f.includes('write') && !f.includes('readonly'),
        `${name} is neither write nor readonly: ${f}`,
      );
    }
    for (const name of Object.keys(IDEMPOTENT_WRITES)) {
      const f = flags.get(name);
      assert.ok(f, `${name} exists`);
      assert.ok(f.includes('write'), `${name} is a write: ${f}`);
    }
    for (const name of BLOCKING) {
      const f = flags.get(name);
      assert.ok(f, `${name} exists`);
      if (name !== 'wait') assert.ok(f.includes('blocking'), `${name} is blocking: ${f}`);
    }
  });
});

describe('argument rules', () => {
  test('SET is idempotent without NX, XX, GET, KEEPTTL (any case)', () => {
    assert.equal(isSafeToResend('set', ['k', 'v']), true);
    assert.equal(isSafeToResend('SET', ['k', 'v', 'EX', '10']), true);
    for (const option of ['NX', 'xx', 'GET', 'KEEPTTL'])
      assert.equal(isSafeToResend('set', ['k', 'v', option]), false);
    // A value that spells an option is a value, not the option.
    assert.equal(isSafeToResend('set', ['k', 'nx']), true);
  });

  test('counters, list pushes, stream appends, scripts and PUBLISH are never safe; declared ones are', () => {
    for (const name of [
      'incr',
      'incrby',
      'lpush',
      'rpush',
      'xadd',
      'eval',
      'publish',
      'lpop',
      'blpop',
      'exec',
    ]) {
      assert.equal(isSafeToResend(name, ['k', '1']), false, name);
    }
    assert.equal(isSafeToResend('zadd', ['z', 'INCR', '1', 'm']), false);
    assert.equal(isSafeToResend('zadd', ['z', '1', 'm']), true);
    assert.equal(isSafeToResend('incrby', ['k', '0'], new Set(['incrby'])), true);
    assert.equal(isSafeToResend('client', ['LIST']), true);
    assert.equal(isSafeToResend('client', ['KILL', 'ID', '1']), false);
  });

  test('XREAD blocks only with BLOCK; BLPOP and WAIT always', () => {
    assert.equal(isBlocking('xread', ['STREAMS', 's', '0']), false);
    assert.equal(isBlocking('XREAD', ['BLOCK', '0', 'STREAMS', 's', '$']), true);
    assert.equal(isBlocking('blpop', ['q', '0']), true);
    assert.equal(isBlocking('wait', ['1', '0']), true);
    assert.equal(isBlocking('get', ['k']), false);
  });
});
