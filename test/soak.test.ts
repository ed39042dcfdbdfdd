// The short soak of CI: 75 s, fixed seed, every adapter (pg, ioredis, node-redis, mysql, http, peers) through
// its fault proxy under a random mix of faults, kernel drops included where root allows (soak/soak.ts). Every
// invariant must hold: no acknowledged write lost or applied twice, no operation past its bound, no uncaught
// error, resources flat. `npm run soak -- --minutes 30` runs the long one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const soak = fileURLToPath(new URL('../soak/soak.ts', import.meta.url));

const ADAPTERS = ['pg', 'redis', 'redis-node', 'mysql', 'http', 'peers'];

test('short soak (75 s, seed 16): every adapter keeps every invariant under mixed faults', {
  timeout: 180_000,
}, async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          soak,
          '--minutes',
          '1.25',
          '--seed',
          '16',
          '--adapters',
          ADAPTERS.join(','),
          '--json',
        ],
        { timeout: 170_000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    },
  );
  const result = JSON.parse(stdout) as {
    ok: boolean;
    faults: number;
    uncaught: string[];
    adapters: {
      name: string;
      ops: number;
      writesAcked: number;
      lost: number;
      duplicated: number;
      pastDeadline: number;
      late: unknown[];
    }[];
    resources: { growing: string[] };
    kernel: { on: boolean; reason?: string; drops: number; errors: string[] };
  };
  assert.ok(result.faults > 10, 'the schedule injected faults');
  assert.deepEqual(
    result.adapters.map((a) => a.name),
    ADAPTERS,
    'every adapter ran',
  );
  // Kernel drops need root: where they are possible they must have happened, cleanly.
  if (result.kernel.on) {
    assert.ok(result.kernel.drops > 0, 'kernel drops were injected');
    assert.deepEqual(result.kernel.errors, []);
  } else {
    process.stderr.write(`short soak: kernel drops skipped (${result.kernel.reason})\n`);
  }
  for (const a of result.adapters) {
    assert.ok(a.writesAcked > 0, `${a.name} acknowledged writes`);
    assert.equal(a.lost, 0, `${a.name}: acknowledged writes lost`);
    assert.equal(a.duplicated, 0, `${a.name}: writes applied twice`);
    // redis-node once failed this at seed 16: a swallowed CLIENT ID reply left a connection lifeline-net/redis
    // could not verify; such a connection is now closed once a reply is overdue (docs/redis.md, lost replies).
    assert.equal(a.pastDeadline, 0, `${a.name}: operations past their bound: ${JSON.stringify(a.late)}`);
  }
  assert.deepEqual(result.uncaught, []);
  assert.deepEqual(result.resources.growing, [], 'resources flat');
  assert.equal(code, 0, stderr);
});
