// The control API's access rules: the optional bearer token (library option, `serve --token`,
// $LIFELINE_PROXY_TOKEN on both sides) and the loopback-only rule for API-created proxies.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError } from '../../src/core/options.js';
import { ControlServer, type ControlServerOptions } from '../../src/faults/index.js';
import { echoServer } from './helpers.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function startServer(t: { after(fn: () => Promise<void>): void }, options: ControlServerOptions) {
  const server = new ControlServer({ port: 0, log: () => {}, ...options });
  const { port } = await server.start();
  t.after(() => server.stop());
  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? undefined : (JSON.parse(text) as { error?: string; status?: number }),
      authenticate: response.headers.get('www-authenticate'),
    };
  };
  return { server, base, call };
}

test('with a token, requests without it or with a wrong one get 401 with a JSON error; the right one passes', async (t) => {
  const { call } = await startServer(t, { token: 's3cret-token' });
  for (const headers of <Record<string, string>[]>[
    {},
    { authorization: 'Bearer wrong' },
    { authorization: 'Bearer s3cret-token-and-more' },
    { authorization: 'Basic czNjcmV0LXRva2Vu' },
    { authorization: 's3cret-token' },
  ]) {
    const r = await call('GET', '/proxies', undefined, headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.body?.status, 401);
    assert.match(r.body?.error ?? '', /Bearer/);
    assert.ok(!(r.body?.error ?? '').includes('s3cret-token'), 'the token is never echoed');
    assert.match(r.authenticate ?? '', /^Bearer/);
  }
  // Every route is guarded, writes included: nothing was created by the refused requests.
  const create = await call('POST', '/proxies', {
    name: 'p',
    listen: '127.0.0.1:0',
    upstream: '127.0.0.1:9',
  });
  assert.equal(create.status, 401);
  const ok = await call('GET', '/proxies', undefined, { authorization: 'Bearer s3cret-token' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, {});
  const lower = await call('GET', '/version', undefined, { authorization: 'bearer s3cret-token' });
  assert.equal(lower.status, 200);
});

test('the token and allowRemoteListen options are checked at construction', () => {
  assert.throws(() => new ControlServer({ token: '' }), InvalidOptionError);
  assert.throws(() => new ControlServer({ token: 42 as unknown as string }), InvalidOptionError);
  assert.throws(
    () => new ControlServer({ allowRemoteListen: 'yes' as unknown as boolean }),
    InvalidOptionError,
  );
});

test('API-created proxies may listen only on loopback by default (create, populate, update): 403', async (t) => {
  const echo = await echoServer(t);
  const { call } = await startServer(t, {});
  for (const listen of ['0.0.0.0:0', ':0', '[::]:0', '192.0.2.1:0', '127.evil.example:0']) {
    const r = await call('POST', '/proxies', { name: 'p', listen, upstream: echo.address });
    assert.equal(r.status, 403, listen);
    assert.match(r.body?.error ?? '', /only on loopback.*--allow-remote-listen/);
  }
  const populate = await call('POST', '/populate', [
    { name: 'a', listen: '127.0.0.1:0', upstream: echo.address },
    { name: 'b', listen: '0.0.0.0:0', upstream: echo.address },
  ]);
  assert.equal(populate.status, 403);
  assert.deepEqual((await call('GET', '/proxies')).body, {}, 'a refused populate creates none');
  for (const [i, listen] of ['127.0.0.1:0', 'localhost:0', '[::1]:0'].entries()) {
    const name = `ok${i}`;
    const r = await call('POST', '/proxies', { name, listen, upstream: echo.address });
    assert.equal(r.status, 201, `${listen}: ${JSON.stringify(r.body)}`);
    const moved = await call('POST', `/proxies/${name}`, { listen: '0.0.0.0:0' });
    assert.equal(moved.status, 403);
  }
});

test('allowRemoteListen lets a proxy listen off loopback (the bind itself decides)', async (t) => {
  const echo = await echoServer(t);
  const { call } = await startServer(t, { allowRemoteListen: true });
  // 192.0.2.0/24 (TEST-NET-1) is never this machine's: the bind fails with the API's usual 400.
  const r = await call('POST', '/proxies', { name: 'p', listen: '192.0.2.1:0', upstream: echo.address });
  assert.equal(r.status, 400);
  assert.match(r.body?.error ?? '', /EADDRNOTAVAIL/);
});

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { timeout: 20_000, env },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('lifeline proxy serve --token / $LIFELINE_PROXY_TOKEN: clients send it from the same variable or --token', {
  timeout: 90_000,
}, async (t) => {
  const { LIFELINE_PROXY_TOKEN: _unset, ...baseEnv } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'proxy', 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...baseEnv, LIFELINE_PROXY_TOKEN: 'from-env' },
  });
  t.after(() => {
    child.kill('SIGTERM');
  });
  const url = await new Promise<string>((resolve, reject) => {
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const found = /listening on (http:\/\/\S+).*bearer token required/.exec(log)?.[1];
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
  });
  const without = await run(['proxy', 'list', '--api', url], baseEnv);
  assert.equal(without.code, 1, without.stderr);
  assert.match(without.stderr, /401: unauthorized/);
  const viaEnv = await run(['proxy', 'list', '--api', url, '--json'], {
    ...baseEnv,
    LIFELINE_PROXY_TOKEN: 'from-env',
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.deepEqual(JSON.parse(viaEnv.stdout), []);
  const viaFlag = await run(['proxy', 'list', '--api', url, '--token', 'from-env', '--json'], baseEnv);
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const wrong = await run(['proxy', 'list', '--api', url, '--token', 'nope'], baseEnv);
  assert.equal(wrong.code, 1);
});
