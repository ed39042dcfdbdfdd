// The short soak of CI: 75 s, fixed seed, pg and Redis through their fault proxies under a random mix of
// faults (soak/soak.ts). Every invariant must hold: no acknowledged write lost or applied twice, no operation
// past its bound, no uncaught error, resources flat. `npm run soak -- --minutes 30` runs the long one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const soak = fileURLToPath(new URL('../soak/soak.ts', import.meta.url));

test('short soak (75 s, seed 16): pg and redis keep every invariant under mixed faults', {
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
          'pg,redis',
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
    }[];
    resources: { growing: string[] };
  };
  assert.ok(result.faults > 10, 'the schedule injected faults');
  for (const a of result.adapters) {
    assert.ok(a.writesAcked > 0, `${a.name} acknowledged writes`);
    assert.equal(a.lost, 0, `${a.name}: acknowledged writes lost`);
    assert.equal(a.duplicated, 0, `${a.name}: writes applied twice`);
    assert.equal(a.pastDeadline, 0, `${a.name}: operations past their bound`);
  }
  assert.deepEqual(result.uncaught, []);
  assert.deepEqual(result.resources.growing, [], 'resources flat');
  assert.equal(code, 0, stderr);
});
