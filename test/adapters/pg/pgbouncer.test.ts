import { after, before, describe, test } from 'node:test';
import { PgBouncer, type PoolMode } from '../../support/pgbouncer.js';
import { requireCapability, requireService, services } from '../../support/services.js';
import { coreSuite, type Endpoint } from './core.js';

// The adapter's core suite through PgBouncer in both pooling modes. Transaction mode forbids session
// state across transactions (SET, temp tables, LISTEN, advisory locks, named prepared statements before
// PgBouncer 1.21's max_prepared_statements); the core suite uses none of them, as docs/pg.md advises.
for (const mode of ['session', 'transaction'] as PoolMode[]) {
  describe(`through PgBouncer (pool_mode=${mode})`, () => {
    let bouncer: PgBouncer | undefined;
    let ready = false;

    test('PgBouncer starts in front of the server', { timeout: 30_000 }, async (t) => {
      if (!(await requireService(t, 'postgres'))) return;
      if (!requireCapability(t, PgBouncer.unsupported())) return;
      ready = true;
    });

    before(async () => {
      if (PgBouncer.unsupported() !== undefined) return;
      bouncer = await PgBouncer.start({ mode, upstream: services.postgres });
    });
    after(async () => {
      await bouncer?.stop();
    });

    coreSuite(`lifeline-net/pg via PgBouncer ${mode} mode`, (): Endpoint => {
      if (!ready || bouncer === undefined) throw new Error('PgBouncer is not running (see the first test)');
      return { ...services.postgres, host: bouncer.host, port: bouncer.port };
    });
  });
}
