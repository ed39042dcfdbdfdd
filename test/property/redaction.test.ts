// Property: a password (with @ : / # ? % and unicode) never appears in anything lifeline produces on a real
// failure: error messages, cause chains, stacks, util.inspect output, JSON, emitted events, CLI output.
// Failures are real: connects to a closed loopback port, acquire timeouts, the demo CLI, proxy address errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import util from 'node:util';
import fc from 'fast-check';
import { Pool as PgPool } from '../../src/adapters/pg/index.js';
import { FaultProxy } from '../../src/faults/index.js';
import { closedPort } from '../pool/support.js';
import { params } from './support.js';

const SPECIAL = ['@', ':', '/', '#', '?', '%', 'é', '密', '🔑', '&', '='];
/** 8–20 characters, at least one special; distinctive enough not to occur in a message by chance. */
const password = fc
  .tuple(
    fc.constantFrom(...SPECIAL),
    fc.array(
      fc.oneof(fc.constantFrom(...SPECIAL), fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzXYZ0123456789')),
      {
        minLength: 7,
        maxLength: 19,
      },
    ),
  )
  .map(([first, rest]) => `${first}${rest.join('')}`)
  .filter((p) => /[a-z0-9]{2}/i.test(p)); // not only symbols: those can occur in any text

/** Every text a caller can see of `value`: messages and stacks down the cause chain, inspect, JSON. */
function surfaces(value: unknown): string[] {
  const out = [util.inspect(value, { depth: 20, showHidden: true })];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // a circular structure: inspect above covers it
  }
  let current: unknown = value;
  for (let i = 0; i < 20 && current instanceof Error; i++) {
    out.push(current.message, current.stack ?? '', String(current));
    current = current.cause;
  }
  return out;
}

function assertHidden(pw: string, texts: readonly string[], where: string): void {
  const forms = new Set([pw, encodeURIComponent(pw)]);
  for (const text of texts) {
    for (const form of forms)
      assert.ok(!text.includes(form), `${where} shows the password ${JSON.stringify(form)}:\n${text}`);
  }
}

describe('passwords never leak', () => {
  it('lifeline-net/pg: connect to a closed port, acquire timeout (URL and config password)', async () => {
    const port = await closedPort();
    await fc.assert(
      fc.asyncProperty(password, fc.boolean(), async (pw, inUrl) => {
        const events: unknown[] = [];
        const base = {
          max: 1,
          lifeline: { acquireTimeoutMs: 300, connectTimeoutMs: 200, connectRetryMs: 0 },
        };
        const pool = new PgPool(
          inUrl
            ? { ...base, connectionString: `postgres://u:${encodeURIComponent(pw)}@127.0.0.1:${port}/test` }
            : { ...base, host: '127.0.0.1', port, user: 'u', password: pw, database: 'test' },
        );
        pool.on('error', (error) => events.push(error));
        let failure: unknown;
        try {
          await pool.query('select 1');
        } catch (error) {
          failure = error;
        }
        await pool.end();
        assert.ok(failure instanceof Error, 'the query fails');
        // (util.inspect(pool) shows pg's own `options.connectionString`, as pg.Pool does: not checked here.)
        assertHidden(pw, [...surfaces(failure), ...events.flatMap(surfaces)], 'pg');
      }),
      params(15),
    );
  });

  it('faults: proxy address errors name the address without its password', async () => {
    await fc.assert(
      fc.asyncProperty(password, fc.boolean(), async (pw, encoded) => {
        const secret = encoded ? encodeURIComponent(pw) : pw;
        for (const field of ['upstream', 'listen'] as const) {
          let failure: unknown;
          try {
            const proxy = new FaultProxy({
              upstream: '127.0.0.1:1',
              [field]: `redis://u:${secret}@127.0.0.1:6379`,
            });
            await proxy.start();
            await proxy.stop();
          } catch (error) {
            failure = error;
          }
          assert.ok(failure instanceof Error, `a URL as ${field} is refused`);
          assertHidden(pw, surfaces(failure), `FaultProxy ${field}`);
        }
      }),
      params(60),
    );
  });

  it('demo --json with --url carrying a password: stdout and stderr', async () => {
    const port = await closedPort();
    const samples = fc.sample(password, { seed: 16, numRuns: 3 });
    for (const pw of samples) {
      const url = `postgres://u:${encodeURIComponent(pw)}@127.0.0.1:${port}/test`;
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--json', '--quick', '--url', url],
          { timeout: 60_000 },
          (_error, stdout, stderr) => resolve({ stdout, stderr }),
        );
      });
      assert.ok(stdout.length + stderr.length > 0, 'the demo says something');
      assertHidden(pw, [stdout, stderr], 'demo');
    }
  });
});
