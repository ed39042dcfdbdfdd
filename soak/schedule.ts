// The soak's fault schedule: drawn up front from the seed, so a failing run is replayed exactly by its seed
// (the schedule is printed with the failure). Faults overlap and follow each other back to back.
import type { ToxicSpec } from '../src/faults/index.js';

export interface Fault {
  /** ms after the start. */
  readonly at: number;
  readonly durationMs: number;
  /**
   * A toxic to add for durationMs, a server restart through the proxy (disable, then enable), or a kernel
   * drop in the network namespace (every packet, or `lossPercent` of them; skipped where root does not allow).
   */
  readonly kind: 'toxic' | 'restart' | 'drop';
  readonly toxic?: ToxicSpec;
  /** For a drop: the share of packets dropped; absent = all (a blackhole). */
  readonly lossPercent?: number;
}

/** mulberry32: small, seeded, the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Draw = (random: () => number) => ToxicSpec;
const int = (random: () => number, min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const stream = (random: () => number) =>
  (random() < 0.5 ? 'upstream' : 'downstream') as 'upstream' | 'downstream';

/** Every toxic, with attributes in ranges that hurt without making the workload pointless. */
const TOXICS: readonly Draw[] = [
  (r) => ({
    type: 'latency',
    stream: stream(r),
    attributes: { latency: int(r, 5, 400), jitter: int(r, 0, 100) },
  }),
  (r) => ({ type: 'bandwidth', stream: stream(r), attributes: { rate: int(r, 1, 200) } }),
  (r) => ({
    type: 'slicer',
    stream: stream(r),
    attributes: { average_size: int(r, 1, 64), size_variation: 0, delay: int(r, 0, 2000) },
  }),
  // timeout 0: a middlebox that swallows every byte and never closes.
  (r) => ({ type: 'timeout', stream: stream(r), attributes: { timeout: 0 } }),
  (r) => ({ type: 'timeout', stream: stream(r), attributes: { timeout: int(r, 50, 1500) } }),
  (r) => ({ type: 'reset_peer', stream: stream(r), attributes: { timeout: int(r, 0, 500) } }),
  (r) => ({ type: 'limit_data', stream: stream(r), attributes: { bytes: int(r, 0, 4096) } }),
  (r) => ({ type: 'slow_close', stream: stream(r), attributes: { delay: int(r, 10, 1000) } }),
  (r) => ({ type: 'half_close', stream: stream(r), attributes: { delay: int(r, 0, 500) } }),
  (r) => ({ type: 'stall_reads', stream: stream(r), attributes: { duration: int(r, 0, 1500) } }),
  (r) => ({
    type: 'lifetime',
    stream: stream(r),
    attributes: { lifetime: int(r, 50, 2000), reset: r() < 0.5 },
  }),
];

/**
 * Faults over `totalMs`, leaving the last 15 % quiet so the run ends healthy. Gaps of 0–3 s (0 = back to
 * back), durations 0.3–4 s (so they overlap), toxicity mostly 1, sometimes partial. Drops are drawn whether or
 * not this machine can make them, so a seed names the same schedule everywhere.
 */
export function schedule(seed: number, totalMs: number): Fault[] {
  const random = rng(seed);
  const faults: Fault[] = [];
  let at = 2000;
  while (at < totalMs * 0.85) {
    const durationMs = int(random, 300, 4000);
    const kind = random();
    if (kind < 0.12) faults.push({ at, durationMs: int(random, 100, 1500), kind: 'restart' });
    else if (kind < 0.18) faults.push({ at, durationMs, kind: 'drop' });
    else if (kind < 0.22) faults.push({ at, durationMs, kind: 'drop', lossPercent: int(random, 5, 60) });
    else {
      const draw = TOXICS[Math.floor(random() * TOXICS.length)] as Draw;
      const toxic = { ...draw(random), toxicity: random() < 0.7 ? 1 : Math.round(random() * 100) / 100 };
      faults.push({ at, durationMs, kind: 'toxic', toxic });
    }
    at += random() < 0.2 ? 0 : int(random, 100, 3000);
  }
  return faults;
}
