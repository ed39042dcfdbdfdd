// Time from a fault to LiveSocket's death record, per fault, over real sockets: FIN and RST on loopback, a
// peer that stops reading, and silent drops in a network namespace (kernel-level, so keepalive and
// TCP_USER_TIMEOUT are really exercised). Prints a Markdown table. `node --import tsx bench/detect.ts`
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { NetnsHost, netnsSupport } from '../src/faults/netns.js';
import { type DeathCause, LiveSocket, type LiveSocketOptions } from '../src/socket/index.js';
import { nativeHelperStatus } from '../src/socket/tcp.js';

interface Scenario {
  fault: string;
  setting: string;
  runs: number;
  needsNetns?: boolean;
  options: LiveSocketOptions;
  /** Injects the fault and returns performance.now() at the moment it took effect. */
  inject(context: Context): Promise<number>;
}

interface Context {
  live: LiveSocket;
  peer: () => Promise<net.Socket>;
  host: NetnsHost | undefined;
}

const quiet = { keepaliveIdleMs: 0, userTimeoutMs: 0, writeStallMs: 0 } as const;
const silent = {
  keepaliveIdleMs: 1000,
  keepaliveIntervalMs: 1000,
  keepaliveCount: 2,
  writeStallMs: 0,
} as const;

/** The peer ends the connection with a FIN or an RST (`close`); seen on the next read. */
function peerCloses(fault: string, close: (socket: net.Socket) => void): Scenario {
  return {
    fault,
    setting: '—',
    runs: 7,
    options: quiet,
    inject: async ({ peer }) => {
      const socket = await peer();
      const at = performance.now();
      close(socket);
      return at;
    },
  };
}

/** Packets vanish in the kernel while the connection is idle: only keepalive (and user timeout) can tell. */
function idleBlackhole(setting: string, userTimeoutMs: number): Scenario {
  return {
    fault: 'silent drop, idle',
    setting,
    runs: 3,
    needsNetns: true,
    options: { ...silent, userTimeoutMs },
    inject: async ({ host }) => {
      await host?.blackhole();
      return performance.now();
    },
  };
}

const scenarios: Scenario[] = [
  peerCloses('peer FIN', (socket) => socket.end()),
  peerCloses('peer RST', (socket) => socket.resetAndDestroy()),
  {
    fault: 'peer stops reading (64 MiB write)',
    setting: 'writeStallMs 500',
    runs: 5,
    options: { ...quiet, writeStallMs: 500 },
    inject: async ({ live, peer }) => {
      (await peer()).pause();
      const at = performance.now();
      live.socket.write(Buffer.alloc(64 * 1024 * 1024));
      return at;
    },
  },
  {
    fault: 'silent drop, busy (write after blackhole)',
    setting: 'userTimeoutMs 1500',
    runs: 3,
    needsNetns: true,
    options: { ...silent, userTimeoutMs: 1500 },
    inject: async ({ live, host }) => {
      await host?.blackhole();
      const at = performance.now();
      live.socket.write('request\n');
      return at;
    },
  },
  idleBlackhole('keepalive 1000/1000 ms ×2, userTimeoutMs 1500', 1500),
  idleBlackhole('keepalive 1000/1000 ms ×2, no user timeout', 0),
];

async function startServer(address: string): Promise<{ server: net.Server; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    accepted.push(socket);
    server.emit('accepted');
  });
  server.listen(0, address);
  await once(server, 'listening');
  return { server, accepted };
}

async function measure(
  scenario: Scenario,
  host: NetnsHost | undefined,
): Promise<{ ms: number; cause: DeathCause }> {
  const { server, accepted } = await startServer(host?.gatewayAddress ?? '127.0.0.1');
  const { port } = server.address() as net.AddressInfo;
  const endpoint = host ? await host.serve(port) : { host: '127.0.0.1', port };
  const live = LiveSocket.connect({ ...endpoint, ...scenario.options });
  try {
    await live.ready();
    const peer = async () => {
      while (accepted.length === 0) await once(server, 'accepted');
      return accepted[0] as net.Socket;
    };
    // Let the handshake's last ACK and any greeting settle so "idle" really is idle.
    await peer();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const died = new Promise<number>((resolve) => live.once('death', () => resolve(performance.now())));
    const at = await scenario.inject({ live, peer, host });
    const end = await died;
    return { ms: end - at, cause: live.death?.cause ?? 'error' };
  } finally {
    live.destroy();
    for (const socket of accepted) socket.destroy();
    server.close();
    await host?.heal();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const format = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));

async function main(): Promise<void> {
  const netnsWhy = netnsSupport();
  console.log('| fault | detected as | setting | runs | median ms | max ms |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const scenario of scenarios) {
    if (scenario.needsNetns && netnsWhy !== undefined) {
      console.log(`| ${scenario.fault} | skipped: ${netnsWhy} | ${scenario.setting} | 0 | — | — |`);
      continue;
    }
    const host = scenario.needsNetns ? await NetnsHost.create() : undefined;
    try {
      const results: { ms: number; cause: DeathCause }[] = [];
      for (let i = 0; i < scenario.runs; i++) results.push(await measure(scenario, host));
      const causes = [...new Set(results.map((r) => r.cause))].join(', ');
      const times = results.map((r) => r.ms);
      console.log(
        `| ${scenario.fault} | ${causes} | ${scenario.setting} | ${scenario.runs} | ${format(median(times))} | ${format(Math.max(...times))} |`,
      );
    } finally {
      await host?.destroy();
    }
  }
  const helper = nativeHelperStatus();
  console.log(
    `\nKeepalive/TCP_USER_TIMEOUT through ${helper === undefined ? 'net-keepalive' : `Node only (${helper})`}. ` +
      'Time runs from the fault taking effect (FIN or RST sent, blackhole rule in place, write issued) to ' +
      "LiveSocket's 'death' event.",
  );
}

await main();
