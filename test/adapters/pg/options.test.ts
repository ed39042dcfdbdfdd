import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from '../../../src/adapters/pg/index.js';

test('bad lifeline options are refused at construction, naming the option', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ bogus: 1 }, /"bogus" is not a known option/],
    [{ keepaliveIdleMs: 500 }, /"keepaliveIdleMs".*1000/],
    [{ maxRetries: -1 }, /"maxRetries"/],
    [{ queryDeadlineMs: Number.NaN }, /"queryDeadlineMs"/],
    [{ targetSessionAttrs: 'leader' }, /"targetSessionAttrs"/],
    [{ idempotent: 'yes' }, /"idempotent"/],
    [{ createBackoffBaseMs: 0 }, /"createBackoffBaseMs"/],
    [{ createBackoffMaxMs: Number.POSITIVE_INFINITY }, /"createBackoffMaxMs"/],
    [
      { createBackoffBaseMs: 500, createBackoffMaxMs: 200 },
      /"createBackoffMaxMs" must be >= createBackoffBaseMs \(500\)/,
    ],
  ];
  for (const [lifeline, message] of cases) {
    assert.throws(
      () => new Pool({ lifeline: lifeline as never }),
      (e: Error & { code?: string }) => e.code === 'LIFELINE_INVALID_OPTION' && message.test(e.message),
      JSON.stringify(lifeline),
    );
  }
  assert.throws(() => new Pool({ pipeline: true }), /pipeline/);
});

test('the password stays out of pool.options when printed', async () => {
  const pool = new Pool({ host: '127.0.0.1', password: 'hunter2', lifeline: {} });
  assert.ok(!JSON.stringify(pool.options).includes('hunter2'));
  assert.equal(pool.options.password, 'hunter2');
  await pool.end();
});
