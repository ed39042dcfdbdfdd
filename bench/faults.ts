// The fault proxy with no toxic against socat and a direct loopback connection, in the same run:
// pass-through throughput (one direction, 1 MiB writes with backpressure) and round-trip latency of a
// 64-byte ping-pong; then the latency toxic's accuracy (added delay vs requested). The proxy runs in its
// own process, started through `lifeline proxy serve` and driven over its HTTP API, as socat runs in its own.
// Standalone: node --import tsx bench/faults.ts   (bounded: a watchdog ends it after 55 s)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const TRANSFER_BYTES = 256 << 20;
const ROUNDS = 5;
const PINGS = 2000;
const TOXIC_PINGS = 40;
const REQUESTED_MS = [5, 20, 50];

const children: ChildProcess[] = [];
const watchdog = setTimeout(() => {
  console.error('bench/faults: over 55 s, giving up');
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, 55_000);
watchdog.unref();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Counts what arrives and answers one byte once `TRANSFER_BYTES` have. */
const sink = net.createServer((socket) => {
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= TRANSFER_BYTES) {
      received -= TRANSFER_BYTES;
      socket.write('k');
    }
  });
  socket.on('error', () => {});
});
const echo = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.pipe(socket);
  socket.on('error', () => {});
});
const sinkPort = await listen(sink);
const echoPort = await listen(echo);

async function freePort(): Promise<number> {
  const probe = net.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function socat(upstream: number): Promise<number> {
  const port = await freePort();
  const child = spawn(
    'socat',
    [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${upstream}`],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  await waitForPort(port);
  return port;
}

/** `lifeline proxy serve` in a child process; returns its API URL. */
async function lifelineServe(): Promise<string> {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'proxy', 'serve', '--port', '0', '--seed', '1'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let log = '';
  for await (const chunk of child.stderr as AsyncIterable<Buffer>) {
    log += chunk.toString();
    const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
    if (url) return url;
  }
  throw new Error(`lifeline proxy serve exited: ${log}`);
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, base), {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function lifelineProxy(base: string, name: string, upstream: number): Promise<number> {
  const proxy = (await api(base, 'POST', '/proxies', {
    name,
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${upstream}`,
  })) as { listen: string };
  return Number(proxy.listen.split(':')[1]);
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  return socket;
}

const block = Buffer.alloc(1 << 20, 0x61);

/** MB/s for one transfer of TRANSFER_BYTES to the sink through `port`. */
async function throughput(port: number): Promise<number> {
  const socket = await connect(port);
  const done = once(socket, 'data');
  const start = performance.now();
  for (let sent = 0; sent < TRANSFER_BYTES; sent += block.length) {
    if (!socket.write(block)) await once(socket, 'drain');
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  socket.destroy();
  return TRANSFER_BYTES / 1e6 / seconds;
}

/** Round-trip times (ms) of `count` 64-byte ping-pongs to the echo server through `port`. */
async function roundTrips(port: number, count: number): Promise<number[]> {
  const socket = await connect(port);
  const ping = Buffer.alloc(64, 0x70);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    socket.write(ping);
    let got = 0;
    while (got < ping.length) got += ((await once(socket, 'data')) as [Buffer])[0].length;
    times.push(performance.now() - start);
  }
  socket.destroy();
  return times;
}

const base = await lifelineServe();
const paths = {
  direct: { sink: sinkPort, echo: echoPort },
  socat: { sink: await socat(sinkPort), echo: await socat(echoPort) },
  lifeline: {
    sink: await lifelineProxy(base, 'sink', sinkPort),
    echo: await lifelineProxy(base, 'echo', echoPort),
  },
};
type PathName = keyof typeof paths;
const names = Object.keys(paths) as PathName[];

// Warm up every path (JIT, socket buffers), then alternate paths round by round so drift hits all alike.
for (const name of names) {
  await roundTrips(paths[name].echo, 200);
  await throughput(paths[name].sink);
}
const rates: Record<PathName, number[]> = { direct: [], socat: [], lifeline: [] };
const rtts: Record<PathName, number[]> = { direct: [], socat: [], lifeline: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const name of names) {
    rates[name].push(await throughput(paths[name].sink));
    rtts[name].push(...(await roundTrips(paths[name].echo, PINGS / ROUNDS)));
  }
}

const socatRate = median(rates.socat);
const directRtt = median(rtts.direct);
console.log(
  `Pass-through, no toxics: ${ROUNDS} alternating rounds of ${TRANSFER_BYTES >> 20} MiB one way and ${PINGS / ROUNDS} 64-byte round trips per path; medians.\n`,
);
console.log('| path | throughput (MB/s) | vs socat | round trip (µs) | added vs direct (µs) |');
console.log('|---|---:|---:|---:|---:|');
const labels: Record<PathName, string> = {
  direct: 'direct loopback',
  socat: 'socat (TCP-LISTEN,fork → TCP)',
  lifeline: 'lifeline FaultProxy (`lifeline proxy serve`)',
};
for (const name of names) {
  const rate = median(rates[name]);
  const rtt = median(rtts[name]);
  console.log(
    `| ${labels[name]} | ${rate.toFixed(0)} | ${(rate / socatRate).toFixed(2)}× | ${(rtt * 1000).toFixed(0)} | ${name === 'direct' ? '—' : ((rtt - directRtt) * 1000).toFixed(0)} |`,
  );
}

// Latency toxic accuracy: added round-trip time with a downstream latency toxic, minus the proxy's own RTT.
const baseline = median(await roundTrips(paths.lifeline.echo, 200));
console.log(
  `\nLatency toxic accuracy (downstream, jitter 0): ${TOXIC_PINGS} round trips each; added = median RTT − median RTT without the toxic (${(baseline * 1000).toFixed(0)} µs).\n`,
);
console.log('| requested (ms) | added, median (ms) | error (ms) | error p90 (ms) |');
console.log('|---:|---:|---:|---:|');
for (const ms of REQUESTED_MS) {
  await api(base, 'POST', '/proxies/echo/toxics', {
    name: 'lat',
    type: 'latency',
    attributes: { latency: ms },
  });
  const times = await roundTrips(paths.lifeline.echo, TOXIC_PINGS);
  await api(base, 'DELETE', '/proxies/echo/toxics/lat');
  const errors = times.map((t) => t - baseline - ms).sort((a, b) => a - b);
  const p90 = errors[Math.floor(errors.length * 0.9)] ?? Number.NaN;
  console.log(
    `| ${ms} | ${(median(times) - baseline).toFixed(3)} | ${median(errors).toFixed(3)} | ${p90.toFixed(3)} |`,
  );
}

for (const child of children) child.kill('SIGTERM');
sink.close();
echo.close();
clearTimeout(watchdog);
