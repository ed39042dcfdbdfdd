// Issue 11, bug 2: the ESM and the CJS build each carry a copy of every class. Classes are branded with
// Symbol.for (src/core/brand.ts), so an object from one build passes the other's checks and `instanceof`.
// Needs dist/ (npm test builds it first), like test/package.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LifelineError, PoolClosedError, PoolDrainingError } from '../src/index.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs `body` as an ES module with `esm`/`cjs` bound to the two builds of `specifier`; returns its JSON. */
function acrossBuilds(specifier: string, body: string): Record<string, unknown> {
  const script = `
    import { createRequire } from 'node:module';
    const esm = await import(${JSON.stringify(specifier)});
    const cjs = createRequire(${JSON.stringify(join(root, 'package.json'))})(${JSON.stringify(specifier)});
    const out = {};
    ${body}
    process.stdout.write(JSON.stringify(out));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('one class identity across the ESM and CJS builds', {
  skip: !existsSync(join(root, 'dist')) && 'no dist/',
}, () => {
  test("ESM execute() takes the CJS build's policies (breaker, budget, retry, hedge, hosts)", () => {
    const out = acrossBuilds(
      'lifeline-net',
      `
      const options = {
        breaker: new cjs.CircuitBreaker(),
        budget: new cjs.RetryBudget(),
        retry: new cjs.RetryPolicy({ maxAttempts: 2 }),
        hedge: new cjs.HedgePolicy(),
        idempotent: true,
      };
      out.plain = await esm.execute(async () => 'ok', options);
      const hosts = new cjs.HostSet([{ host: '127.0.0.1', port: 5432 }], { budget: new esm.RetryBudget() });
      out.hosts = await esm.execute(async (attempt) => attempt.host?.name, { hosts });
      out.cjsWithEsm = await cjs.execute(async () => 'ok', { breaker: new esm.CircuitBreaker() });`,
    );
    assert.deepEqual(out, { plain: 'ok', hosts: '127.0.0.1:5432', cjsWithEsm: 'ok' });
  });

  test('errors: instanceof their class and LifelineError in the other build, never a sibling', () => {
    const out = acrossBuilds(
      'lifeline-net',
      `
      const fromCjs = new cjs.PoolDrainingError();
      out.own = fromCjs instanceof esm.PoolDrainingError;
      out.base = fromCjs instanceof esm.LifelineError;
      out.error = fromCjs instanceof Error;
      out.sibling = fromCjs instanceof esm.PoolClosedError;
      out.reverse = new esm.PeerClosedError('h:1') instanceof cjs.PeerClosedError;
      out.reverseSibling = new esm.PeerClosedError('h:1') instanceof cjs.ConnectionResetError;
      out.plainError = new Error('x') instanceof esm.LifelineError;`,
    );
    assert.deepEqual(out, {
      own: true,
      base: true,
      error: true,
      sibling: false,
      reverse: true,
      reverseSibling: false,
      plainError: false,
    });
  });

  test('lifeline-net/pg: its errors', () => {
    const out = acrossBuilds(
      'lifeline-net/pg',
      `
      out.lost = new cjs.PgConnectionLostError('h', undefined) instanceof esm.PgConnectionLostError;
      out.base = new cjs.PgConnectionLostError('h', undefined) instanceof (await import('lifeline-net')).LifelineError;
      out.sibling = new cjs.PgConnectionLostError('h', undefined) instanceof esm.PgTransactionLostError;`,
    );
    assert.deepEqual(out, { lost: true, base: true, sibling: false });
  });

  // Every class every entry point exports: an instance (its prototype) from one build passes the other's
  // instanceof, both ways. A new exported class fails here until it is branded (src/core/brand.ts).
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  for (const entry of Object.keys(pkg.exports).filter((key) => key !== './package.json')) {
    const specifier = entry === '.' ? 'lifeline-net' : `lifeline-net/${entry.slice(2)}`;
    test(`${specifier}: every exported class is one class in both builds`, () => {
      const out = acrossBuilds(
        specifier,
        `
        out.classes = 0;
        out.unbranded = Object.keys(esm).filter((name) => {
          const E = esm[name], C = cjs[name];
          if (typeof E !== 'function' || typeof C !== 'function' || !/^[A-Z]/.test(name) || !E.prototype) return false;
          out.classes++;
          return !(Object.create(C.prototype) instanceof E) || !(Object.create(E.prototype) instanceof C);
        });`,
      );
      assert.deepEqual(out.unbranded, []);
      assert.ok(Number(out.classes) > 0, 'no class exported');
    });
  }

  test('lifeline-net/faults: FaultProxy and its errors', () => {
    const out = acrossBuilds(
      'lifeline-net/faults',
      `
      out.errors = new cjs.ProxyNotFoundError('x') instanceof esm.ProxyNotFoundError;
      out.sibling = new cjs.ProxyNotFoundError('x') instanceof esm.ProxyExistsError;
      out.proxy = Object.create(cjs.FaultProxy.prototype) instanceof esm.FaultProxy;`,
    );
    assert.deepEqual(out, { errors: true, sibling: false, proxy: true });
  });
});

test('a subclass keeps ordinary semantics: a user subclass of LifelineError is not every LifelineError', () => {
  class MyError extends LifelineError {}
  const mine = new MyError('MY_CODE', 'mine');
  assert.ok(mine instanceof MyError);
  assert.ok(mine instanceof LifelineError);
  assert.ok(!(new PoolDrainingError() instanceof MyError));
  assert.ok(!(new PoolDrainingError() instanceof PoolClosedError));
});
