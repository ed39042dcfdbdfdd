// "No input a peer can give may make it spin": scenarios that once left their process alive and polling after
// they finished run in a child process, which must exit by itself (no --test-force-exit to hide it). The
// cause was the fault proxy resetting a socket while its FIN was still queued (src/faults/connection.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Runs `fixture` (test/adapters/http/fixtures/) with tsx; resolves with its exit code and output. */
async function runAlone(t: TestContext, fixture: string): Promise<{ code: number | null; out: string }> {
  const file = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  // Without the runner's NODE_TEST_CONTEXT the child's node:test reports in TAP, as a process of its own.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  // Only a test that failed (timed out) leaves it running; then it is killed, by its own pid.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

test('a reset of a socket whose FIN is still queued closes it: the process ends by itself', {
  timeout: 60_000,
}, async (t) => {
  const { code, out } = await runAlone(t, 'reset-queued-fin.ts');
  assert.equal(code, 0, out);
  assert.match(out, /scenario done/);
});

test('the node:http control case (http.Agent and axios through the reset race) ends by itself', {
  timeout: 90_000,
}, async (t) => {
  const { code, out } = await runAlone(t, 'control-race.ts');
  assert.equal(code, 0, out);
  assert.match(out, /# pass 1/);
});
