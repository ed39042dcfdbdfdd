// Incident 3 (shared/INCIDENTS.md): a REST client failed at random with "connection reset by peer", and the
// team could only add blind retries. The cause is the classic keep-alive race: the client reuses a pooled
// socket that the server side has dropped while it sat idle. With the fault proxy the race is no longer
// random: every request sent on a socket idle for 500 ms or more is answered with an RST.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { proxyTo, sleep, tcpServer } from './helpers.js';

function get(agent: http.Agent, port: number): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (d: string) => (body += d));
      response.on('end', () => resolve({ body, reused: request.reusedSocket }));
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      reject(Object.assign(error, { reused: request.reusedSocket })),
    );
  });
}

test('incident 3: Node’s http.Agent reuses an idle keep-alive socket the proxy resets — ECONNRESET', {
  timeout: 10_000,
}, async (t) => {
  const web = http.createServer((_request, response) => response.end('ok'));
  web.keepAliveTimeout = 60_000;
  // The shared server helper listens and closes, pass or fail; HTTP is served on the sockets it accepts.
  const server = await tcpServer(t, (socket) => web.emit('connection', socket));
  const { proxy, port } = await proxyTo(t, server.address, { seed: 3 });
  proxy.addToxic({
    name: 'idle-reset',
    type: 'reset_peer',
    stream: 'upstream',
    attributes: { timeout: 0 },
    target: { idleMs: 500 },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const first = await get(agent, port);
  assert.deepEqual(first, { body: 'ok', reused: false });
  const second = await get(agent, port); // busy socket: no reset
  assert.deepEqual(second, { body: 'ok', reused: true });

  await sleep(800); // the socket now sits idle in the agent's pool
  await assert.rejects(get(agent, port), (error: NodeJS.ErrnoException & { reused: boolean }) => {
    assert.equal(error.code, 'ECONNRESET');
    assert.equal(error.reused, true, 'the failing request went out on the reused idle socket');
    return true;
  });

  // What the team's blind retry did: a fresh socket succeeds, which is why retries hid the cause.
  const retry = await get(agent, port);
  assert.deepEqual(retry, { body: 'ok', reused: false });
});
