// `lifeline demo --driver redis` against the machine's Redis: under resets that land after the server applied
// a write, ioredis's resend doubles writes while lifeline-net/redis doubles none and never fails a read; a
// peer that stops reading hangs ioredis's requests and none of lifeline's. An unreachable --url says so.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDemo } from '../../src/demo/runner.js';
import { requireService } from '../support/services.js';

describe('demo --driver redis', { timeout: 300_000 }, () => {
  it('lifeline-net/redis: no doubled write, no read error, nothing hung', async (t) => {
    if (!(await requireService(t, 'redis'))) return;
    const result = await runDemo({
      driver: 'redis',
      quick: true,
      scenarios: ['writes-reset', 'stall-reads'],
    });
    assert.equal(result.aborted, false);
    for (const scenario of result.scenarios) {
      const ours = scenario.lifeline;
      assert.equal(ours.doubledWrites, 0, `${scenario.name}: doubled`);
      assert.equal(ours.lostWrites, 0, `${scenario.name}: lost`);
      assert.equal(ours.readErrors, 0, `${scenario.name}: ${JSON.stringify(ours.errorMessages)}`);
      assert.equal(ours.hung, 0, `${scenario.name}: hung`);
    }
  });

  it('an unreachable --url is an error that says what to do', async () => {
    await assert.rejects(
      runDemo({ driver: 'redis', quick: true, scenarios: ['baseline'], url: 'redis://127.0.0.1:1' }),
      {
        message: /Redis at redis:\/\/127\.0\.0\.1:1 is unreachable .*--url/,
      },
    );
  });
});
