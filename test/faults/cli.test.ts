import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, echoServer } from './helpers.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs `lifeline proxy ...` through tsx, as a user would run the built bin. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return lifeline(['proxy', ...args]);
}

/** Runs `lifeline ...` through tsx. */
function lifeline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts `lifeline proxy serve` and resolves with its API URL once its log matches `ready`. */
function serve(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'proxy', 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
      if (url && ready.test(log)) resolve({ child, url, log: () => log });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

test('lifeline proxy: serve with a populate config, then list, create, toxic add/update/remove, toggle, inspect, delete', {
  timeout: 90_000,
}, async (t) => {
  const echo = await echoServer(t);
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-cli-'));
  const config = join(dir, 'proxies.json');
  await writeFile(config, JSON.stringify([{ name: 'echo', listen: '127.0.0.1:0', upstream: echo.address }]));
  const { child, url, log } = await serve(['--config', config, '--seed', '7'], /created 1 proxy from /);
  assert.match(log(), /loopback only/);
  const api = ['--api', url];

  const listed = await cli(['list', ...api, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const [echoProxy] = JSON.parse(listed.stdout) as Array<{ name: string; listen: string }>;
  assert.equal(echoProxy?.name, 'echo');
  const text = await cli(['list', ...api]);
  assert.match(
    text.stdout,
    /^NAME\s+LISTEN\s+UPSTREAM\s+ENABLED\s+TOXICS\necho\s+127\.0\.0\.1:\d+\s+\S+\s+yes\s+0$/m,
  );

  const created = await cli(['create', 'pg', '--upstream', echo.address, ...api]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /created pg: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(enabled\)/);

  const added = await cli([
    'toxic',
    'add',
    'echo',
    '-t',
    'reset_peer',
    '--upstream',
    '-a',
    'timeout=0',
    '--connection',
    '1',
    ...api,
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(
    added.stdout,
    /reset_peer_upstream {2}reset_peer on upstream {2}toxicity=1 {2}timeout=0 {2}target: connection=1/,
  );
  const port = Number(echoProxy?.listen.split(':')[1]);
  const first = await connect(port);
  first.socket.write('x');
  assert.equal(await first.finished, 'ECONNRESET');
  const second = await connect(port);
  second.socket.write('y');
  await second.received(1);
  second.socket.destroy();

  const updated = await cli([
    'toxic',
    'update',
    'echo',
    '-n',
    'reset_peer_upstream',
    '--toxicity',
    '0.5',
    ...api,
    '--json',
  ]);
  assert.equal(updated.code, 0, updated.stderr);
  assert.equal((JSON.parse(updated.stdout) as { toxicity: number }).toxicity, 0.5);

  const inspected = await cli(['inspect', 'echo', ...api]);
  assert.match(inspected.stdout, /^echo: .* \(enabled\)\n {2}reset_peer_upstream .*toxicity=0\.5/);
  const removed = await cli(['toxic', 'remove', 'echo', '--toxicName', 'reset_peer_upstream', ...api]);
  assert.equal(removed.code, 0, removed.stderr);

  const toggled = await cli(['toggle', 'echo', ...api]);
  assert.equal(toggled.stdout.trim(), 'echo is now disabled');
  await assert.rejects(connect(port), { code: 'ECONNREFUSED' });
  assert.equal((await cli(['toggle', 'echo', ...api])).stdout.trim(), 'echo is now enabled');

  // Errors: the API's refusal is exit 1 with its message; bad usage is exit 2 with help; no server is 3.
  const closed = await echoServer(t);
  const closedPort = closed.port;
  await closed.close();
  // Independent of each other, so run side by side: each CLI start costs a second or two of tsx.
  const [duplicate, badAttribute, unknownType, missing, usage, bogus, unknownCommand, unreachable] =
    await Promise.all([
      cli(['create', 'pg', '--upstream', echo.address, ...api]),
      cli(['toxic', 'add', 'echo', '-t', 'latency', '-a', 'latency=-3', ...api]),
      cli(['toxic', 'add', 'echo', '-t', 'explode', ...api]),
      cli(['inspect', 'nope', ...api]),
      cli(['create', 'x', ...api]),
      cli(['toxic', 'add', 'echo', '--bogus', ...api]),
      cli(['frobnicate']),
      cli(['list', '--api', `http://127.0.0.1:${closedPort}`]),
    ]);
  assert.deepEqual(
    [duplicate.code, duplicate.stderr.trim()],
    [1, 'lifeline proxy create: 409: proxy already exists'],
  );
  assert.equal(badAttribute.code, 1);
  assert.match(badAttribute.stderr, /400: attribute latency of a latency toxic must be a number from 0/);
  assert.match(unknownType.stderr, /400: invalid toxic type/);
  assert.deepEqual(
    [missing.code, missing.stderr.trim()],
    [1, 'lifeline proxy inspect: 404: proxy not found'],
  );
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /create needs --upstream/);
  assert.equal(bogus.code, 2);
  assert.equal(unknownCommand.code, 2);
  assert.equal(unreachable.code, 3);
  assert.match(
    unreachable.stderr,
    /^lifeline proxy list: the control API at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED: nothing is listening there\)\. Start one with `lifeline proxy serve`, or point --api/,
  );

  assert.equal((await cli(['delete', 'pg', ...api])).stdout.trim(), 'deleted pg');
  assert.equal(await stop(child), 0);
  await rm(dir, { recursive: true });
});

test('lifeline proxy: --help on every command, exit 0', { timeout: 60_000 }, async () => {
  const commands = [[], ['serve'], ['list'], ['inspect'], ['create'], ['delete'], ['toggle'], ['toxic']];
  const results = await Promise.all(commands.map((c) => cli([...c, '--help'])));
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, 0, `${commands[i]}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: lifeline proxy/, `${commands[i]}`);
  }
});

test('lifeline proxy serve: a port in use is a clear error, exit 1', { timeout: 30_000 }, async (t) => {
  const echo = await echoServer(t);
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      main,
      'proxy',
      'serve',
      '--port',
      String(echo.port),
    ]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot start the control API: listen address already in use/);
});

test('lifeline proxy: --version; usage errors print the error and one line of usage, exit 2', {
  timeout: 60_000,
}, async () => {
  const version = (
    JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  const api = ['--api', 'http://127.0.0.1:8474'];
  const cases: [string[], RegExp][] = [
    [
      ['serve', '--port', '70000'],
      /^lifeline proxy serve: --port must be a port number from 0 to 65535, got "70000"$/,
    ],
    [['serve', '--port=-1'], /--port must be a port number/],
    [
      ['create', 'x', '--upstream', '127.0.0.1:99999', ...api],
      /--upstream must be "host:port" with a port from 0 to 65535/,
    ],
    [
      ['create', 'x', '--upstream', '127.0.0.1:5432', '--listen', 'nope', ...api],
      /--listen must be "host:port"/,
    ],
    [['list', '--api', 'http://127.0.0.1:70000'], /--api must be the control API's URL/],
    [['list', '--api', 'not a url'], /--api must be the control API's URL/],
    [['toxic', 'add', 'x', '--bogus', ...api], /^lifeline proxy toxic: unknown option '--bogus'$/],
    [['frobnicate'], /^lifeline proxy: unknown command "frobnicate"$/],
    [[], /^lifeline proxy: no command given$/],
  ];
  const [versionRun, topVersion, ...results] = await Promise.all([
    cli(['--version']),
    lifeline(['--version']),
    ...cases.map(([args]) => cli(args)),
  ]);
  assert.deepEqual([versionRun?.code, versionRun?.stdout.trim()], [0, `lifeline (lifeline-net) ${version}`]);
  assert.deepEqual([topVersion?.code, topVersion?.stdout.trim()], [0, `lifeline (lifeline-net) ${version}`]);
  // The top level too: no command, or an unknown one, is the error and one line of usage.
  for (const [args, message] of [
    [[], /^lifeline: no command given$/],
    [['frobnicate'], /^lifeline: unknown command 'frobnicate'$/],
  ] as const) {
    const r = await lifeline([...args]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0] ?? '', message);
    assert.match(
      lines[1] ?? '',
      /^Usage: lifeline <proxy\|demo\|check> \[options\] \(`lifeline --help` for more\)$/,
    );
  }
  for (const [i, r] of results.entries()) {
    const [args, message] = cases[i] ?? [[], /./];
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0] ?? '', message);
    assert.match(lines[1] ?? '', /^Usage: lifeline proxy\b.*\(`lifeline proxy.* --help` for more\)$/);
    assert.doesNotMatch(r.stderr, /Received|ERR_|RangeError|TypeError/);
  }
});

test('lifeline proxy: an API that accepts but never answers is unreachable after a bounded wait, exit 3', {
  timeout: 60_000,
}, async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const r = await cli(['list', '--api', `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `the control API at http://127\\.0\\.0\\.1:${port} is unreachable \\(no answer within 10 s\\)`,
    ),
  );
});
