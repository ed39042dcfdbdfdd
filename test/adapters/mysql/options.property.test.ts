/**
 * Property (issue 16): any value for any one option of lifeline-net/mysql's createPool (callback and promise
 * API: every mysql2 connection and pool option, `Promise`, and every `lifeline` option) yields a working pool
 * or InvalidOptionError naming the option — never a raw TypeError, a crash, a hang or a leak.
 *
 * Construction runs never connect (the pool is checked to have opened nothing, then ended); a smaller connect
 * property runs one `select 1` through pools built from values that may legitimately still reach the server,
 * and every pool is ended. At the end this process holds no more TCP sockets than before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createPool } from '../../../src/adapters/mysql/index.js';
import { createPool as createPromisePool } from '../../../src/adapters/mysql/promise.js';
import { LifelineError } from '../../../src/core/errors.js';
import { InvalidOptionError } from '../../../src/core/options.js';
import { GetterError, hostile, params } from '../../property/support.js';
import { direct, sleep } from './support.js';

// mysql2's ConnectionConfig options and PoolConfig options (node_modules/mysql2/lib/connection_config.js).
const MYSQL2_KEYS = [
  'authPlugins',
  'authSwitchHandler',
  'bigNumberStrings',
  'charset',
  'charsetNumber',
  'compress',
  'connectAttributes',
  'connectTimeout',
  'database',
  'dateStrings',
  'debug',
  'decimalNumbers',
  'enableKeepAlive',
  'flags',
  'host',
  'insecureAuth',
  'infileStreamFactory',
  'isServer',
  'keepAliveInitialDelay',
  'localAddress',
  'maxPreparedStatements',
  'multipleStatements',
  'namedPlaceholders',
  'nestTables',
  'password',
  'password1',
  'password2',
  'password3',
  'passwordSha1',
  'pool',
  'port',
  'queryFormat',
  'rowsAsArray',
  'socketPath',
  'ssl',
  'stream',
  'stringifyObjects',
  'supportBigNumbers',
  'timezone',
  'trace',
  'typeCast',
  'uri',
  'user',
  'disableEval',
  'enableCleartextPlugin',
  'connectionLimit',
  'maxIdle',
  'idleTimeout',
  'queueLimit',
  'resetOnRelease',
  'waitForConnections',
  'jsonStrings',
  'gracefulEnd',
];
const LIFELINE_KEYS = [
  'acquireTimeoutMs',
  'queryDeadlineMs',
  'idempotent',
  'maxRetries',
  'retryBackoffMs',
  'maxLifetimeMs',
  'lifetimeJitter',
  'validateAfterIdleMs',
  'safeReads',
  'verifyAfterMs',
  'hosts',
  'keepaliveIdleMs',
  'keepaliveIntervalMs',
  'keepaliveCount',
  'userTimeoutMs',
  'writeStallMs',
  'createBackoffBaseMs',
  'createBackoffMaxMs',
];

type Built = { end(cb?: () => void): unknown; pool?: unknown; stats?: () => unknown };
type Api = 'callback' | 'promise';

/** The option's value placed where it goes: top level, or under `lifeline`. */
function configWith(key: string, value: unknown, base: object): Record<string, unknown> {
  if (key === 'lifeline') return { ...base, lifeline: value };
  if (key.startsWith('lifeline.')) {
    const inner = key.slice('lifeline.'.length);
    const lifeline = { ...((base as { lifeline?: object }).lifeline ?? {}), [inner]: value };
    return { ...base, lifeline };
  }
  return { ...base, [key]: value };
}

function build(api: Api, config: Record<string, unknown>): Built {
  return (api === 'callback'
    ? createPool(config as never)
    : createPromisePool(config as never)) as unknown as Built;
}

function statsOf(built: Built, api: Api): { created: number; total: number; pendingCreates: number } {
  const callbackPool = (api === 'callback' ? built : built.pool) as { stats(): never };
  return callbackPool.stats();
}

async function endPool(built: Built, api: Api): Promise<void> {
  if (api === 'promise') await (built.end() as Promise<void>);
  else await new Promise<void>((resolve) => built.end(() => resolve()));
}

/** The option the error names, or the option's top-level key for a nested one. */
function names(error: InvalidOptionError, key: string): boolean {
  // A whole config (or a whole `lifeline` object) of any shape: the error names the field inside it.
  if (key === 'config') return true;
  if (key === 'lifeline')
    return error.option === 'lifeline' || error.message.includes('createPool: lifeline');
  const leaf = key.startsWith('lifeline.') ? key.slice('lifeline.'.length) : key;
  return (
    error.option === leaf ||
    error.option === key ||
    error.option.startsWith(`${leaf}.`) ||
    error.option.startsWith(`${leaf}[`) ||
    error.message.includes(`lifeline.${leaf}`) ||
    error.message.includes(`${leaf}[`)
  );
}

function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPWRAP').length;
}

const ALL_KEYS = [
  ...MYSQL2_KEYS,
  'lifeline',
  ...LIFELINE_KEYS.map((k) => `lifeline.${k}`),
  'config', // the whole config, any value (an object, a URL, anything else)
];

describe('lifeline-net/mysql createPool takes any value for any option', () => {
  const quiet = console.error;
  let socketsBefore = 0;
  before(() => {
    // mysql2 warns on console.error for values it ignores (an unknown timezone): expected here, not news.
    console.error = () => {};
    socketsBefore = tcpSockets();
  });
  after(() => {
    console.error = quiet;
  });

  for (const api of ['callback', 'promise'] as const) {
    it(`${api} API: a pool that opened nothing, or InvalidOptionError naming the option`, async () => {
      const keys = api === 'promise' ? [...ALL_KEYS, 'Promise'] : ALL_KEYS;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...keys), hostile, async (key, value) => {
          let built: Built;
          try {
            built =
              key === 'config'
                ? build(api, value as Record<string, unknown>)
                : build(api, configWith(key, value, { ...direct }));
          } catch (error) {
            if (error instanceof GetterError) return; // the value's own getter threw: propagated unchanged
            assert.ok(
              error instanceof InvalidOptionError,
              `${key}: expected InvalidOptionError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
            );
            assert.ok(names(error, key), `${key}: the error names "${error.option}": ${error.message}`);
            return;
          }
          try {
            const s = statsOf(built, api);
            assert.deepEqual(
              { created: s.created, total: s.total, pendingCreates: s.pendingCreates },
              { created: 0, total: 0, pendingCreates: 0 },
              `${key}: createPool opened nothing`,
            );
          } finally {
            await endPool(built, api);
          }
        }),
        params(200),
      );
    });
  }

  // Options whose arbitrary values may still reach this server: each accepted value gets one `select 1`.
  const CONNECTING = [
    'connectTimeout',
    'connectionLimit',
    'queueLimit',
    'waitForConnections',
    'idleTimeout',
    'maxIdle',
    'dateStrings',
    'supportBigNumbers',
    'bigNumberStrings',
    'decimalNumbers',
    'rowsAsArray',
    'namedPlaceholders',
    'nestTables',
    'multipleStatements',
    'timezone',
    'charset',
    'enableKeepAlive',
    'keepAliveInitialDelay',
    'maxPreparedStatements',
    'connectAttributes',
    'stringifyObjects',
    'jsonStrings',
    'trace',
    ...LIFELINE_KEYS.filter((k) => k !== 'hosts').map((k) => `lifeline.${k}`),
  ];

  it('accepted values give a pool that answers, or a typed error; every pool ends', async (t) => {
    const { requireService } = await import('../../support/services.js');
    if (!(await requireService(t, 'mysql'))) return;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CONNECTING), hostile, async (key, value) => {
        let built: Built;
        try {
          // A bounded wait: a value that makes connecting impossible fails in 3 s, typed.
          built = build(
            'promise',
            configWith(key, value, { ...direct, lifeline: { acquireTimeoutMs: 3000 } }),
          );
        } catch (error) {
          if (error instanceof GetterError) return;
          assert.ok(error instanceof InvalidOptionError && names(error, key), `${key}: ${String(error)}`);
          return;
        }
        try {
          const outcome = await (built as unknown as { query(sql: string): Promise<unknown> })
            .query('select 1 as one')
            .then(
              () => 'answered',
              (error: unknown) => error,
            );
          if (outcome !== 'answered') {
            assert.ok(
              outcome instanceof LifelineError || typeof (outcome as { errno?: unknown }).errno === 'number',
              `${key}: a query failed with ${outcome instanceof Error ? `${outcome.constructor.name}: ${outcome.message}` : String(outcome)}`,
            );
          }
        } finally {
          await endPool(built, 'promise');
        }
      }),
      params(60),
    );
  });

  it('no socket left open by any pool', async () => {
    // Closing sockets finish within a few turns; bounded.
    for (let i = 0; i < 100 && tcpSockets() > socketsBefore; i++) await sleep(20);
    assert.ok(tcpSockets() <= socketsBefore, `${tcpSockets()} TCP sockets open, ${socketsBefore} before`);
  });
});
