// A machine without the suite's system tools (pgbouncer, iptables, chromium), made for the test: a private
// mount namespace where each is covered by a non-executable file. The test files that need them must pass
// there with loud skips, CI=true included, and scripts/system-deps.sh (npm test's first step) must never
// fail: disabled, not root, or apt-get failing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireCapability } from './support/services.js';
import { requireTools, toolPath } from './support/tools.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts', 'system-deps.sh');
const T = { timeout: 120_000 };

let dir = '';
let placeholder = '';
let fakeApt = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-missing-tools-'));
  placeholder = path.join(dir, 'not-installed');
  fs.writeFileSync(placeholder, 'covers a tool: not executable\n', { mode: 0o644 });
  // An apt-get that fails as a locked dpkg does, and records that it was called.
  fakeApt = path.join(dir, 'bin');
  fs.mkdirSync(fakeApt);
  fs.writeFileSync(
    path.join(fakeApt, 'apt-get'),
    `#!/bin/sh\necho "$*" >> ${dir}/apt-calls\necho "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2\nexit 100\n`,
    { mode: 0o755 },
  );
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Why this machine cannot make a private mount namespace with tools hidden, or undefined. */
function cannotHide(): string | undefined {
  if (process.platform !== 'linux') return 'hiding tools needs Linux mount namespaces';
  if (process.getuid?.() !== 0) return 'hiding tools needs root (unshare --mount, mount --bind)';
  return undefined;
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to its end, outside this test runner's context (a nested `node --test` reports as a top-level run). */
function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 100_000,
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Runs `command` with pgbouncer, iptables and chromium hidden (those installed) in a private mount namespace. */
function runWithoutTools(command: string[], env: Record<string, string>): Promise<Run> {
  const hide = (['pgbouncer', 'iptables', 'chromium'] as const)
    .map((tool) => toolPath(tool))
    .filter((p): p is string => p !== undefined);
  const script = `for f in ${hide.map((p) => `'${p}'`).join(' ')}; do mount --bind '${placeholder}' "$f"; done; exec "$@"`;
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...command], env);
}

describe('on a machine without pgbouncer, iptables and chromium', () => {
  for (const [file, tool] of [
    ['test/adapters/pg/pgbouncer.test.ts', 'pgbouncer'],
    ['test/socket/silent.test.ts', 'iptables'],
  ] as const) {
    test(`${file} passes with loud skips, under CI=true too`, T, async (t) => {
      if (!requireCapability(t, cannotHide())) return;
      const { code, output } = await runWithoutTools(['node', '--import', 'tsx', '--test', file], {
        CI: 'true',
        LIFELINE_NO_INSTALL: '1',
      });
      assert.equal(code, 0, output);
      assert.match(output, /^# fail 0$/m);
      assert.match(output, /^# pass 0$/m, 'every test needs the missing tool');
      assert.match(output, /^# skipped [1-9]\d*$/m);
      assert.match(
        output,
        new RegExp(`^# !!! SKIPPED: ${tool} not installed .*apt-get install ${tool}`, 'm'),
      );
      assert.doesNotMatch(output, /is not running/);
    });
  }

  test('scripts/system-deps.sh prints one loud line when apt-get fails, and exits 0', T, async (t) => {
    if (!requireCapability(t, cannotHide())) return;
    const { code, output } = await runWithoutTools(['bash', SCRIPT], {
      PATH: `${fakeApt}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LIFELINE_NO_INSTALL: '',
    });
    assert.equal(code, 0, output);
    assert.match(output, /^system-deps: installing .*pgbouncer.* with apt-get/m);
    const loud = output.split('\n').filter((line) => line.startsWith('!!! '));
    assert.equal(loud.length, 1, output);
    assert.match(
      loud[0] ?? '',
      /could not install .*iptables.*pgbouncer.*chromium.*Could not get lock.*SKIPPED/,
    );
    const log = /full log (\S+?)\)/.exec(loud[0] ?? '')?.[1];
    if (log !== undefined) fs.rmSync(log, { force: true });
  });
});

describe('scripts/system-deps.sh does nothing, quietly, when it must not or need not install', () => {
  const calls = () =>
    fs.existsSync(path.join(dir, 'apt-calls')) ? fs.readFileSync(path.join(dir, 'apt-calls'), 'utf8') : '';

  test('LIFELINE_NO_INSTALL=1 turns it off', T, async (t) => {
    if (!requireCapability(t, cannotHide())) return;
    const before = calls();
    const { code, output } = await runWithoutTools(['bash', SCRIPT], {
      PATH: `${fakeApt}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LIFELINE_NO_INSTALL: '1',
    });
    assert.equal(code, 0);
    assert.equal(output, '');
    assert.equal(calls(), before, 'apt-get was called');
  });

  test('not root: nothing', T, async (t) => {
    if (!requireCapability(t, cannotHide())) return;
    const before = calls();
    const { code, output } = await runWithoutTools(
      ['runuser', '-u', 'nobody', '--', 'env', `PATH=${fakeApt}:/usr/bin:/bin`, 'bash', SCRIPT],
      { LIFELINE_NO_INSTALL: '' },
    );
    assert.equal(code, 0);
    assert.equal(output, '');
    assert.equal(calls(), before, 'apt-get was called');
  });

  test('every tool present: apt-get is not called', T, async (t) => {
    if (!requireTools(t, 'ip', 'iptables', 'socat', 'pgbouncer', 'chromium')) return;
    if (!requireCapability(t, process.getuid?.() === 0 ? undefined : 'needs root to reach the apt-get step'))
      return;
    const before = calls();
    const { code, output } = await run('bash', [SCRIPT], {
      PATH: `${fakeApt}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LIFELINE_NO_INSTALL: '',
    });
    assert.equal(code, 0);
    assert.equal(output, '');
    assert.equal(calls(), before, 'apt-get was called');
  });
});
