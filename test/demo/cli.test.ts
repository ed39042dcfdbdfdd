// `lifeline demo` as a user runs it: a real process started through tsx, its exit codes, its JSON, its
// report, and Ctrl-C leaving nothing behind (the process exits on its own once interrupted) and the last
// full report as it was.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
    // The drivers, and the default driver's scenarios.
    assert.match(r.stdout, /^Drivers:\n {2}pg +pg\.Pool vs lifeline-net\/pg/m);
    assert.match(r.stdout, /^Scenarios \(pg\): baseline, fin-all, /m);
  });

  it('--version prints the version and exits 0', async () => {
    const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    const r = await run(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `lifeline (lifeline-net) ${version}`);
  });

  it('a bad flag, driver, scenario, seed or server URL exits 2: the error and one line of usage', async () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /^lifeline demo: unknown option '--bogus'$/m],
      [['--scenario', 'nope'], /nope/],
      [['--seed', 'x'], /--seed/],
      [['extra'], /unexpected argument 'extra'/],
      [
        ['--database-url', 'postgres://u:hunter2@127.0.0.1:99999/db'],
        /--database-url .*port from 1 to 65535/,
      ],
      [['--driver', 'nope'], /unknown driver 'nope'; choose from pg/],
      [
        ['--url', 'redis://u:hunter2@127.0.0.1:6379'],
        /--url must be a postgres:\/\/ or postgresql:\/\/ URL, got redis:\/\/u:\*\*\*@/,
      ],
      [
        ['--url', 'postgres://127.0.0.1/a', '--database-url', 'postgres://127.0.0.1/b'],
        /--url and --database-url name the same thing: give one of them/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    for (const [i, r] of results.entries()) {
      const [args, message] = cases[i] ?? [[], /./];
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0] ?? '', /^lifeline demo: /);
      assert.match(r.stderr, message);
      assert.match(lines[1] ?? '', /^Usage: lifeline demo \[--quick\].*lifeline demo --help/);
      assert.doesNotMatch(r.stderr, /hunter2/);
    }
  });

  it('a --report path that cannot be written exits 2 at once, before any scenario runs', async () => {
    const taken = join(dir, 'a-directory');
    await mkdir(taken);
    for (const [report, why] of [
      [join(dir, 'no-such-dir', 'demo.html'), /its directory does not exist/],
      [taken, /it is a directory/],
    ] as const) {
      const r = await run(['--quick', '--report', report]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stdout + r.stderr, /\[1\/|embedded Postgres/);
    }
  });

  it('an unreachable --database-url exits 1, saying which server (password hidden)', async () => {
    const r = await run(['--quick', '--database-url', 'postgres://demo:hunter2@127.0.0.1:1/db']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the database at postgres:\/\/demo:\*\*\*@127\.0\.0\.1:1\/db is unreachable \(ECONNREFUSED: .*\)\. Check that it is running/,
    );
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

  it('Ctrl-C stops cleanly: exit 130, a partial report beside the full one, which is left as it was', async () => {
    const full = join(dir, 'int.html');
    await writeFile(full, 'the last full report');
    const { child, done } = start(['--scenario', 'baseline,blackhole', '--report', full], dir);
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
    assert.equal(await readFile(full, 'utf8'), 'the last full report');
    assert.match(await readFile(join(dir, 'int.partial.html'), 'utf8'), /Interrupted: only the scenarios/);
    assert.match(r.stdout, /int\.partial\.html \(.*int\.html was left as it was\)/);
  });
});
