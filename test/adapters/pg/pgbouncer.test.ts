import { after, before, describe, test } from 'node:test';
import { PgBouncer, type PoolMode } from '../../support/pgbouncer.js';
import { capabilitySkip, requireCapability, requireService, services } from '../../support/services.js';
import { requireTools, toolSkip } from '../../support/tools.js';
import { coreSuite, type Endpoint } from './core.js';

// The adapter's core suite through PgBouncer in both pooling modes. Transaction mode forbids session
// state across transactions (SET, temp tables, LISTEN, advisory locks, named prepared statements before
// PgBouncer 1.21's max_prepared_statements); the core suite uses none of them, as docs/pg.md advises.

// Known before any test runs: without pgbouncer (or, outside CI, without root) the core suite is skipped
// with that reason instead of failing test by test. A missing pgbouncer never fails, under CI neither.
const skipSuite = toolSkip('pgbouncer') || capabilitySkip(PgBouncer.unsupported());

for (const mode of ['session', 'transaction'] as PoolMode[]) {
  describe(`through PgBouncer (pool_mode=${mode})`, () => {
    let bouncer: PgBouncer | undefined;
    let ready = false;

    test('PgBouncer starts in front of the server', { timeout: 30_000 }, async (t) => {
      if (!requireTools(t, 'pgbouncer')) return;
      if (!(await requireService(t, 'postgres'))) return;
      if (!requireCapability(t, PgBouncer.unsupported())) return;
      if (bouncer === undefined) throw new Error('PgBouncer did not start (see the before hook)');
      ready = true;
    });

    before(async () => {
      if (skipSuite !== false || PgBouncer.unsupported() !== undefined) return;
      bouncer = await PgBouncer.start({ mode, upstream: services.postgres });
    });
    after(async () => {
      await bouncer?.stop();
    });

    const name = `lifeline-net/pg via PgBouncer ${mode} mode`;
    if (skipSuite !== false) describe(name, { skip: skipSuite }, () => {});
    else
      coreSuite(name, (): Endpoint => {
        if (!ready || bouncer === undefined) throw new Error('PgBouncer is not running (see the first test)');
        return { ...services.postgres, host: bouncer.host, port: bouncer.port };
      });
  });
}
