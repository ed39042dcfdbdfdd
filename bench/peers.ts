// PeerSet's cost. (1) quorum(3 of 10) against ten healthy HTTP storage peers served by this process over
// loopback, against three direct GETs awaited together, interleaved in the same run (the ratio is the
// goal: ≤ 1.2×); the same against in-process peers that answer after one event-loop turn, where the
// difference is the set's own overhead in µs. (2) The phi detector's cost per heartbeat and per reading.
// (3) Memory per peer. Prints Markdown.
// Standalone: node --expose-gc --import tsx bench/peers.ts   (bounded: ~30 s; every round is capped)
import http from 'node:http';
import { get, type StoragePeer, startStoragePeer } from '../src/demo/drivers/grid-storage.js';
import { PeerSet, PhiAccrualDetector } from '../src/peers/index.js';

const ROUNDS = 7;
const ROUND_MS = 400;
const ROUND_OPS = 200_000;

async function round(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  const stop = start + BigInt(ROUND_MS * 1e6);
  let n = 0;
  while (n < ROUND_OPS) {
    for (let i = 0; i < 16; i++) await run();
    n += 16;
    if (process.hrtime.bigint() > stop) break;
  }
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** Alternates the two cases round by round, so drift on a shared machine hits both alike. */
async function compare(
  direct: () => Promise<unknown>,
  quorum: () => Promise<unknown>,
): Promise<[number, number]> {
  for (let i = 0; i < 2; i++) {
    await round(direct);
    await round(quorum);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(await round(direct));
    b.push(await round(quorum));
  }
  return [median(a), median(b)];
}

const logger = (): void => {};

async function httpPeers(): Promise<string[]> {
  const storage: StoragePeer[] = [];
  for (let i = 0; i < 10; i++) storage.push(await startStoragePeer(`s${i}`));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const peers = storage.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const set = new PeerSet({ members: peers, logger });
  const fetch = (peer: { host: string; port: number }, signal: AbortSignal): Promise<string> =>
    get(agent, peer, '/share/1/1', signal);
  // Direct: the three peers the app would pick by hand, no signal, no timeout, nothing else.
  const three = peers.slice(0, 3);
  const direct = (): Promise<string[]> => Promise.all(three.map((p) => get(agent, p, '/share/1/1')));
  const noHedge = { hedgeDelayMs: Number.POSITIVE_INFINITY };
  const [d2, plain] = await compare(direct, () => set.quorum(3, fetch, noHedge));
  const [d1, hedged] = await compare(direct, () => set.quorum(3, fetch));
  // What handing node:http an AbortSignal costs by itself (the set passes one to every call).
  const [d3, signalled] = await compare(direct, () =>
    Promise.all(three.map((p) => get(agent, p, '/share/1/1', new AbortController().signal))),
  );
  const stats = set.stats();
  set.close();
  agent.destroy();
  for (const s of storage) await s.close();
  const row = (name: string, direct: number, other: number, note: string): string =>
    `| ${name} | ${direct.toFixed(1)} µs | ${other.toFixed(1)} µs | **${(other / direct).toFixed(2)}×** | ${note} |`;
  return [
    row(
      'quorum(3 of 10), HTTP peers on loopback, default hedging (p95)',
      d1,
      hedged,
      `hedges: ${stats.hedges} of ${stats.calls} calls`,
    ),
    row('quorum(3 of 10), HTTP peers on loopback, hedging off', d2, plain, 'alternates only'),
    row(
      'reference: the 3 direct GETs, each given an AbortSignal',
      d3,
      signalled,
      "node:http's own cost of a signal",
    ),
  ];
}

async function turnPeers(): Promise<string[]> {
  const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const answer = (peer: string): Promise<string> => new Promise((resolve) => setImmediate(resolve, peer));
  const set = new PeerSet<string>({ members: names, logger });
  const fn = (peer: string): Promise<string> => answer(peer);
  const [direct, quorum] = await compare(
    () => Promise.all([answer('p0'), answer('p1'), answer('p2')]),
    () => set.quorum(3, fn),
  );
  set.close();
  return [
    `| quorum(3 of 10), in-process peers answering after one loop turn | ${direct.toFixed(2)} µs | ${quorum.toFixed(2)} µs | ${(quorum / direct).toFixed(2)}× | the set's own cost: ${(quorum - direct).toFixed(2)} µs per quorum |`,
  ];
}

function detectorCost(): string[] {
  const d = new PhiAccrualDetector();
  const n = 2_000_000;
  let t = 0;
  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    t += 900 + (i % 200);
    d.heartbeat(t);
  }
  const perBeat = Number(process.hrtime.bigint() - start) / n;
  let sink = 0;
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += d.phi(t + (i % 5000));
  const perPhi = Number(process.hrtime.bigint() - start) / n;
  if (sink < 0) console.log(sink);
  return [
    `| detector: one heartbeat (phi check + ring update) | ${perBeat.toFixed(0)} ns |`,
    `| detector: one phi reading | ${perPhi.toFixed(0)} ns |`,
  ];
}

function memoryPerPeer(maxSampleSize: number): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  const count = 5000;
  gc?.();
  const before = process.memoryUsage();
  const set = new PeerSet<string>({ logger, checkIntervalMs: 0, detector: { maxSampleSize } });
  for (let i = 0; i < count; i++) set.add(`peer-${i}`);
  gc?.();
  const after = process.memoryUsage();
  const bytes = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / count;
  set.close();
  return `| memory per peer, maxSampleSize ${maxSampleSize}${gc ? '' : ' (no --expose-gc: rough)'} | ${(bytes / 1024).toFixed(1)} KiB |`;
}

console.log('| case | 3 direct calls together | quorum(3) | ratio | note |\n|---|---|---|---|---|');
for (const line of await httpPeers()) console.log(line);
for (const line of await turnPeers()) console.log(line);
console.log('\n| measure | value |\n|---|---|');
for (const line of detectorCost()) console.log(line);
console.log(memoryPerPeer(1000));
console.log(memoryPerPeer(100));
