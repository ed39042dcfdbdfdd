// `lifeline demo` as a user runs it: a real process started through tsx, its exit codes, its JSON, its
// report, and Ctrl-C leaving nothing behind (the process exits on its own once interrupted).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
// Resolved here, not by the child: it runs in a temporary directory with no node_modules of its own.
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], cwd: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, 'demo', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const done = new Promise<Run>((resolvePromise) => {
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

describe('lifeline demo (CLI)', { timeout: 120_000 }, () => {
  let dir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeline-demo-cli-'));
  });

  after(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]): Promise<Run> => {
    const { child, done } = start(args, dir);
    children.push(child);
    return done;
  };

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: lifeline demo/);
    assert.match(r.stdout, /--database-url/);
  });

  it('a bad flag, a bad scenario and a bad seed exit 2 with a message', async () => {
    for (const args of [['--bogus'], ['--scenario', 'nope'], ['--seed', 'x'], ['extra']]) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /lifeline demo: /);
      assert.match(r.stderr, /Usage: lifeline demo/);
    }
  });

  it('an unreachable --database-url exits 1, saying which server (password hidden)', async () => {
    const r = await run(['--quick', '--database-url', 'postgres://demo:hunter2@127.0.0.1:1/db']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot use the database at postgres:\/\/demo:\*\*\*@127\.0\.0\.1:1\/db/);
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
  });

  it('--json prints the results and writes the report it was asked for', async () => {
    const report = join(dir, 'out.html');
    const r = await run(['--quick', '--scenario', 'baseline,reset-all', '--json', '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { scenarios: { name: string; lifeline: { hung: number } }[] };
    assert.deepEqual(
      result.scenarios.map((s) => s.name),
      ['baseline', 'reset-all'],
    );
    assert.ok(existsSync(report));
    assert.match(r.stderr, new RegExp(`Report: ${report.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(await readFile(report, 'utf8'), /<svg|data-charts-rendered/);
  });

  it('Ctrl-C stops cleanly: exit 130, report of what finished, no process left behind', async () => {
    const { child, done } = start(
      ['--scenario', 'baseline,blackhole', '--report', join(dir, 'int.html')],
      dir,
    );
    children.push(child);
    // Interrupt once the first scenario is under way (or fall through if the child died before that).
    await new Promise<void>((resolvePromise) => {
      let seen = '';
      const onData = (chunk: Buffer): void => {
        seen += chunk;
        if (seen.includes('[1/2]')) {
          child.stdout?.off('data', onData);
          resolvePromise();
        }
      };
      child.stdout?.on('data', onData);
      child.on('close', () => resolvePromise());
    });
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /interrupted/);
    assert.ok(existsSync(join(dir, 'int.html')));
  });
});
