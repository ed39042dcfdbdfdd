// PeerSet's cost. (1) quorum(3 of 10) against ten healthy in-process peers (the case, the headline
// row: an async function answering after one event-loop turn, as I/O would; then one answering on a
// microtask) against three direct calls awaited together, interleaved round by round in the same run, each
// ratio the median of the rounds' ratios, in CPU time (the goal: ≤ 1.2×). The same, in wall-clock time,
// against ten HTTP storage peers served by this process over loopback, both sides on warm keep-alive
// sockets to all ten peers, the direct side asking 3 of them at random per call (a quorum's latency order
// moves between equally fast peers, so it spreads too; a fixed 3 would give the direct side 3 hot sockets
// the quorum does not have). (2) The phi detector's cost per heartbeat and per reading. (3) Memory per
// peer. Prints Markdown.
// Standalone: node --expose-gc --import tsx bench/peers.ts   (bounded: ~60 s; every round is capped)
// Knobs (env): PEERS_BENCH_ONLY=in-process runs only the in-process rows (~15 s); PEERS_BENCH_ROUNDS=n
// measured rounds per comparison (default 7, at most 51).
import http from 'node:http';
import { get, type StoragePeer, startStoragePeer } from '../src/demo/drivers/grid-storage.js';
import { PeerSet, PhiAccrualDetector } from '../src/peers/index.js';

const ROUNDS = Math.min(51, Math.max(1, Number(process.env.PEERS_BENCH_ROUNDS) || 7));
const ONLY_IN_PROCESS = process.env.PEERS_BENCH_ONLY === 'in-process';
const ROUND_MS = 400;
const ROUND_OPS = 200_000;

/** One round: wall-clock and CPU microseconds per call (CPU time is what a loaded machine disturbs least). */
async function round(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const stop = start + BigInt(ROUND_MS * 1e6);
  let n = 0;
  while (n < ROUND_OPS) {
    for (let i = 0; i < 16; i++) await run();
    n += 16;
    if (process.hrtime.bigint() > stop) break;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: Number(process.hrtime.bigint() - start) / n / 1000, cpu: (cpu.user + cpu.system) / n };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

interface Comparison {
  /** Medians of the rounds, µs per call. */
  direct: number;
  quorum: number;
  /** Median of the rounds' ratios (each round's quorum over the direct round just before it). */
  ratio: number;
}

/**
 * Alternates the two cases round by round, so drift on a shared machine hits both alike; `measure`:
 * 'cpu' (the process's CPU time: for in-process peers, where the loop never waits) or 'wall'.
 */
async function compare(
  direct: () => Promise<unknown>,
  quorum: () => Promise<unknown>,
  measure: 'cpu' | 'wall' = 'wall',
): Promise<Comparison> {
  for (let i = 0; i < 2; i++) {
    await round(direct);
    await round(quorum);
  }
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const d = (await round(direct))[measure];
    const q = (await round(quorum))[measure];
    a.push(d);
    b.push(q);
    ratios.push(q / d);
  }
  return { direct: median(a), quorum: median(b), ratio: median(ratios) };
}

const logger = (): void => {};

async function httpPeers(): Promise<string[]> {
  const storage: StoragePeer[] = [];
  for (let i = 0; i < 10; i++) storage.push(await startStoragePeer(`s${i}`));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const peers = storage.map((s) => ({ host: '127.0.0.1', port: s.port }));
  // Warm: keep-alive sockets open to every peer before either side is timed.
  for (let i = 0; i < 20; i++) await Promise.all(peers.map((p) => get(agent, p, '/share/1/1')));
  const set = new PeerSet({ members: peers, logger });
  const fetch = (peer: { host: string; port: number }, signal: AbortSignal): Promise<string> =>
    get(agent, peer, '/share/1/1', signal);
  // Direct: 3 distinct peers at random, no signal, no timeout, nothing else.
  const direct = (): Promise<string[]> => {
    const a = (Math.random() * 10) | 0;
    const b = (a + 1 + ((Math.random() * 9) | 0)) % 10;
    let c = (Math.random() * 10) | 0;
    while (c === a || c === b) c = (c + 1) % 10;
    return Promise.all([a, b, c].map((i) => get(agent, peers[i]!, '/share/1/1')));
  };
  const noHedge = { hedgeDelayMs: Number.POSITIVE_INFINITY };
  const plain = await compare(direct, () => set.quorum(3, fetch, noHedge));
  const hedged = await compare(direct, () => set.quorum(3, fetch));
  // What an AbortController per call costs by itself (the set makes one for a call that declares a signal).
  const signalled = await compare(direct, () =>
    Promise.all(peers.slice(0, 3).map((p) => get(agent, p, '/share/1/1', new AbortController().signal))),
  );
  const stats = set.stats();
  set.close();
  agent.destroy();
  for (const s of storage) await s.close();
  const row = (name: string, c: Comparison, note: string): string =>
    `| ${name} | ${c.direct.toFixed(1)} µs | ${c.quorum.toFixed(1)} µs | **${c.ratio.toFixed(2)}×** | ${note} |`;
  return [
    row(
      'quorum(3 of 10), HTTP peers on loopback, default hedging (p95)',
      hedged,
      `hedges: ${stats.hedges} of ${stats.calls} calls`,
    ),
    row('quorum(3 of 10), HTTP peers on loopback, hedging off', plain, 'alternates only'),
    row(
      'reference: 3 direct GETs, each given its own AbortController',
      signalled,
      'the cost of a signal per call',
    ),
  ];
}

async function inProcessPeers(): Promise<string[]> {
  const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const rows: string[] = [];
  const kinds = [
    [
      "answering as I/O would (after one loop turn: setImmediate) — the issue's case, target ≤ 1.2×",
      (peer: string) => new Promise<string>((r) => setImmediate(r, peer)),
    ],
    [
      'answering on a microtask (a resolved promise) — no target: see docs/peers.md',
      (peer: string) => Promise.resolve(peer),
    ],
  ] as const;
  for (const [label, answer] of kinds) {
    const set = new PeerSet<string>({ members: names, logger });
    // The in-process transport has nothing to cancel: it declares no signal, so none is made.
    const fn = (peer: string): Promise<string> => answer(peer);
    const withSignal = (peer: string, _signal: AbortSignal): Promise<string> => answer(peer);
    const direct = (): Promise<string[]> => Promise.all([answer('p0'), answer('p1'), answer('p2')]);
    const plain = await compare(direct, () => set.quorum(3, fn), 'cpu');
    const signalled = await compare(direct, () => set.quorum(3, withSignal), 'cpu');
    set.close();
    const row = (what: string, c: Comparison): string =>
      `| quorum(3 of 10), in-process peers ${what} | ${c.direct.toFixed(2)} µs | ${c.quorum.toFixed(2)} µs | **${c.ratio.toFixed(2)}×** | CPU time; the set's own cost: ${(c.quorum - c.direct).toFixed(2)} µs per quorum |`;
    rows.push(
      row(label, plain),
      row(`${label.split(' — ')[0]}, call function declaring the signal`, signalled),
    );
  }
  return rows;
}

/** What building one AbortSignal costs in this Node (the set reuses them: see src/peers/attempt.ts). */
function signalCost(): string {
  const n = 20_000;
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (new AbortController().signal.aborted) sink++;
  const perSignal = Number(process.hrtime.bigint() - start) / n;
  if (sink < 0) console.log(sink);
  return `| one AbortSignal built (new AbortController().signal, Node ${process.versions.node}) | ${(perSignal / 1000).toFixed(1)} µs |`;
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
  // Several collections: one leaves the previous measure's set (and its closed timers) half collected,
  // which made the second measure come out negative.
  for (let i = 0; i < 4; i++) gc?.();
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
for (const line of await inProcessPeers()) console.log(line);
if (ONLY_IN_PROCESS) process.exit(0);
for (const line of await httpPeers()) console.log(line);
console.log('\n| measure | value |\n|---|---|');
for (const line of detectorCost()) console.log(line);
console.log(signalCost());
console.log(memoryPerPeer(1000));
console.log(memoryPerPeer(100));
