// docs/recipes/flaky-reset-in-tests.md, run as written: its `lifeline proxy` commands (from its first sh
// block) against a real node:http server, with the ports the test got from the OS in place of the recipe's
// example ports. The `serve` line runs as `serve --port 0`, and the proxy listens on a free port.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { Agent, OutcomeUnknownError } from '../../../src/adapters/http/index.js';
import { tcpServer } from '../../faults/helpers.js';

const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const recipe = fileURLToPath(new URL('../../../docs/recipes/flaky-reset-in-tests.md', import.meta.url));

/** The first ```sh block's commands, without comments. */
function commands(): string[][] {
  const text = readFileSync(recipe, 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/&\s*$/, '').trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const words = line.split(/\s+/);
      assert.deepEqual(words.slice(0, 3), ['npm', 'run', 'lifeline'], line);
      assert.equal(words[3], '--', line);
      return words.slice(4);
    });
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
      if (url) resolve({ child, url });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
  });
}

test('the recipe: a reset on the 2nd connection, seeded; lifeline’s Agent retries the GET and the keyed POST, and reports the POST', {
  timeout: 120_000,
}, async (t) => {
  const seen = new Map<string, number>();
  const web = http.createServer((req, res) => {
    const id = String(req.headers['x-request-id']);
    req.resume();
    req.on('end', () => {
      seen.set(id, (seen.get(id) ?? 0) + 1);
      res.end('ok');
    });
  });
  const server = await tcpServer(t, (socket) => web.emit('connection', socket));
  const [serveArgs, createArgs, toxicArgs] = commands();
  assert.ok(serveArgs && createArgs && toxicArgs, 'the recipe has the three commands');
  const port = (args: string[], flag: string, value: string) => {
    const i = args.indexOf(flag);
    assert.ok(i >= 0, `${flag} in ${args.join(' ')}`);
    const copy = [...args];
    copy[i + 1] = value;
    return copy;
  };
  const { child, url } = await serve(port(serveArgs, '--port', '0'));
  t.after(() => child.kill('SIGTERM'));
  const api = ['--api', url];
  const created = await run([
    ...port(port(createArgs, '--listen', '127.0.0.1:0'), '--upstream', `127.0.0.1:${server.port}`),
    ...api,
  ]);
  assert.equal(created.code, 0, created.stderr);
  const toxic = await run([...toxicArgs, ...api]);
  assert.equal(toxic.code, 0, toxic.stderr);
  const inspected = await run(['proxy', 'inspect', 'api', ...api, '--json']);
  const { listen } = JSON.parse(inspected.stdout) as { listen: string };
  const origin = `http://${listen}`;

  // One connection at a time, so the test knows which request the 2nd connection carries.
  const send = (agent: Agent, method: 'GET' | 'POST', id: string, headers: Record<string, string> = {}) =>
    request(`${origin}/x`, {
      method,
      dispatcher: agent,
      headers: { 'x-request-id': id, ...headers },
      reset: true, // a new connection per request
      ...(method === 'POST' ? { body: id } : {}),
    }).then((r) => r.body.text());

  const getAgent = new Agent({ connections: 1 });
  t.after(() => getAgent.close());
  assert.equal(await send(getAgent, 'GET', 'g0'), 'ok'); // connection 1
  assert.equal(await send(getAgent, 'GET', 'g1'), 'ok'); // connection 2 is reset, sent again on 3
  assert.equal(seen.get('g1'), 2);

  // The toxic again on a fresh count: recreate the proxy's connection numbering by deleting and recreating.
  for (const args of [['proxy', 'delete', 'api'], createArgs, toxicArgs]) {
    const fixed =
      args === createArgs
        ? port(port(args, '--listen', listen), '--upstream', `127.0.0.1:${server.port}`)
        : args;
    const done = await run([...fixed, ...api]);
    assert.equal(done.code, 0, done.stderr);
  }
  const postAgent = new Agent({ connections: 1 });
  t.after(() => postAgent.close());
  assert.equal(await send(postAgent, 'POST', 'p0'), 'ok');
  await assert.rejects(send(postAgent, 'POST', 'p1'), OutcomeUnknownError);
  assert.equal(seen.get('p1'), 1, 'the server applied it once; lifeline did not send it again');
  assert.equal(await send(postAgent, 'POST', 'k1', { 'idempotency-key': 'k1' }), 'ok');
  assert.equal(seen.get('k1'), 1);
});
