// Resource curves of the soak process: fds, sockets in CLOSE_WAIT, heap after GC, and server-side
// connections (open through the proxies); least-squares slope per minute to tell growth from noise.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Sample {
  readonly t: number;
  readonly fds: number;
  readonly closeWait: number;
  readonly heapMb: number;
  readonly serverConnections: number;
}

/** Inodes of this process's sockets (/proc/self/fd links read `socket:[inode]`). */
function ownSockets(): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * This process's TCP sockets in CLOSE_WAIT. The kernel's table is the namespace's, so sockets are matched to
 * ours by inode: another process's (a test suite running beside the soak, a server) never counts.
 */
function closeWait(): number {
  const own = ownSockets();
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // Column 4 is the state in hex (08 = CLOSE_WAIT), column 10 the inode.
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '08' && own.has(cols[9] as string)) n++;
    }
  }
  return n;
}

export function sample(t: number, serverConnections: number): Sample {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return {
    t,
    fds: readdirSync('/proc/self/fd').length,
    closeWait: closeWait(),
    heapMb: process.memoryUsage().heapUsed / 1048576,
    serverConnections,
  };
}

/** Least-squares slope of `values` against `t` (ms), per minute. */
export function slopePerMinute(samples: readonly Sample[], key: keyof Omit<Sample, 't'>): number {
  const n = samples.length;
  if (n < 3) return 0;
  const mt = samples.reduce((s, x) => s + x.t, 0) / n;
  const mv = samples.reduce((s, x) => s + x[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.t - mt) * (x[key] - mv);
    den += (x.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

/** Least-squares slope of `vs` against `ts` (ms), per minute. */
export function slopeOf(ts: readonly number[], vs: readonly number[]): number {
  const n = Math.min(ts.length, vs.length);
  if (n < 3) return 0;
  let mt = 0;
  let mv = 0;
  for (let i = 0; i < n; i++) {
    mt += (ts[i] as number) / n;
    mv += (vs[i] as number) / n;
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((ts[i] as number) - mt) * ((vs[i] as number) - mv);
    den += ((ts[i] as number) - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

/**
 * Growth beyond noise: the second half's mean above the first half's by more than `allowance`, and a
 * positive slope. Faults make every curve jump; only a level that keeps rising is a leak.
 */
export function grows(samples: readonly Sample[], key: keyof Omit<Sample, 't'>, allowance: number): boolean {
  // The quiet tail (no faults) is where a leak shows: compare it to the quiet head, taken after a warm-up
  // tenth of the run (adapters loading, pools filling, code compiled: in a 75 s CI soak the heap rose from 35
  // to 55 MB over the first seconds and then stayed level, which the whole-head mean read as growth).
  const from = Math.floor(samples.length * 0.1);
  const head = samples.slice(from, Math.max(from + 1, Math.floor(samples.length * 0.25)));
  const tail = samples.slice(Math.floor(samples.length * 0.9));
  const mean = (xs: readonly Sample[]) => xs.reduce((s, x) => s + x[key], 0) / Math.max(1, xs.length);
  return mean(tail) - mean(head) > allowance && slopePerMinute(samples, key) > 0;
}
