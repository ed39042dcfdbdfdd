// Requests per second through lifeline-net/http against the clients it wraps, in one run: lifeline's Agent
// vs undici's Agent (goal ≥ 0.95×) and vs node:http's Agent (goal ≥ 1.0×), and HttpAgent vs http.Agent. The
// server runs in a child process so the client's own cost is what differs; every client keeps 8
// connections and 32 requests in flight; rounds alternate between clients and the median is reported.
// Each client is driven the documented fast way, and all alike: the request described by an options object
// (node: `http.get({ host, port, path, agent })`; undici: `dispatcher.request({ origin, path, method })`),
// the body discarded (`res.resume()`; `body.dump()`). undici's top-level `request(urlString, …)` would also
// parse the URL with WHATWG URL on every call, a cost http.get is not given here (docs/http.md#performance).
// Two figures per client: requests per second of wall time, and requests per second of the client
// process's CPU time. On a shared machine the wall figure follows the neighbours' load; the CPU figure
// is what the client costs, and the ratios are taken from it.
// Standalone: node --import tsx bench/http.ts   (bounded: a warm-up and 7 rounds × 4 clients × 4800 requests)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { Agent as UndiciAgent } from 'undici';
import { Agent, HttpAgent } from '../src/adapters/http/index.js';

const ROUNDS = 7;
const PER_WORKER = 150;
const IN_FLIGHT = 32;
const CONNECTIONS = 8;

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => { req.resume(); res.end('ok'); });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

type Client = () => Promise<unknown>;

interface Rates {
  wall: number;
  cpu: number;
}

async function round(client: Client): Promise<Rates> {
  const worker = async () => {
    for (let i = 0; i < PER_WORKER; i++) await client();
  };
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(cpu);
  const n = IN_FLIGHT * PER_WORKER;
  return {
    wall: n / (Number(process.hrtime.bigint() - start) / 1e9),
    cpu: n / ((used.user + used.system) / 1e6),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

function viaUndici(origin: string, dispatcher: UndiciAgent): Client {
  return async () => {
    const response = await dispatcher.request({ origin, path: '/', method: 'GET' });
    await response.body.dump();
  };
}

function viaNode(port: number, agent: http.Agent): Client {
  return () =>
    new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
        response.resume();
        response.on('end', resolve);
      });
      req.on('error', reject);
    });
}

const { child, port } = await startServer();
const origin = `http://127.0.0.1:${port}`;
const undiciAgent = new UndiciAgent({ connections: CONNECTIONS });
const lifelineAgent = new Agent({ connections: CONNECTIONS });
const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const lifelineNodeAgent = new HttpAgent({ maxSockets: CONNECTIONS });
const clients: Record<string, Client> = {
  'undici Agent': viaUndici(origin, undiciAgent),
  'lifeline Agent': viaUndici(origin, lifelineAgent),
  'http.Agent': viaNode(port, nodeAgent),
  'lifeline HttpAgent': viaNode(port, lifelineNodeAgent),
};
const results: Record<string, Rates[]> = {};
for (const name of Object.keys(clients)) results[name] = [];
for (let i = 0; i < ROUNDS + 1; i++) {
  for (const [name, client] of Object.entries(clients)) {
    const rates = await round(client);
    if (i > 0) results[name]?.push(rates); // the first round warms up
  }
}
const rate = (name: string, kind: keyof Rates) => median((results[name] ?? []).map((r) => r[kind]));
const row = (name: string, peer: string, goal: string) =>
  `| ${name} vs ${peer} | ${rate(name, 'cpu').toFixed(0)} (${rate(name, 'wall').toFixed(0)}) | ` +
  `${rate(peer, 'cpu').toFixed(0)} (${rate(peer, 'wall').toFixed(0)}) | **${(rate(name, 'cpu') / rate(peer, 'cpu')).toFixed(2)}×** | ${goal} |`;
console.log('| comparison | lifeline req/s per CPU s (wall) | peer, same run | ratio (CPU) | goal |');
console.log('| --- | --- | --- | --- | --- |');
console.log(row('lifeline Agent', 'undici Agent', '≥ 0.95×'));
console.log(row('lifeline Agent', 'http.Agent', '≥ 1.0×'));
console.log(row('lifeline HttpAgent', 'http.Agent', '≈ 1.0×'));
await Promise.all([undiciAgent.close(), lifelineAgent.close()]);
nodeAgent.destroy();
lifelineNodeAgent.destroy();
child.kill();
