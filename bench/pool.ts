// Acquire+release throughput of lifeline's Pool against pg-pool, tarn and generic-pool, in one process and
// one run, with 1 and 64 borrowers over 10 resources. lifeline runs with its liveness checks on: alive() is
// evaluated on every handout and release, and validateAfterIdleMs is at its default. Rounds of the pools
// are interleaved so machine noise (other work on the same cores) hits them alike; the median round counts.
// The floor row is an ideal pool (one resolved promise per acquire, nothing per release) in the same run.
// The reference row is a bare FIFO pool (fifoIdeal): what waiting in line costs at 64 borrowers by itself.
// The memory row: heap and RSS of 1,000 idle pooled TCP connections, lifeline's Pool against pg-pool, each
// in a fresh child process (see memoryChild). Standalone: `node --expose-gc --import tsx bench/pool.ts`.
// `--waiting` runs only the waiting micro-benchmark (waitingVariants: what a waiting acquire costs, and which
// parts of it a pool could avoid; docs/pool.md, Performance). Over 400 lines: the throughput table, the memory
// row and the waiting variants share the harness (round, cycles, the contenders) and are kept in one file.
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as genericPool from 'generic-pool';
import { Pool as TarnPool } from 'tarn';
import { Pool } from '../src/pool/index.js';

const RESOURCES = 10;
const OPS_PER_ROUND = 100_000;
const WARMUP_ROUNDS = 3;
const ROUNDS = 9;
const CONNECTIONS = 1000;
const MEMORY_RUNS = 3;
const FLOOR = 'floor: ideal pool (`Promise.resolve(resource)`, no-op release)';
const FIFO_IDEAL = 'reference: bare FIFO pool (no checks, timeouts, events or stats)';

/** The resource: what a LiveSocket-backed factory would read in alive(). */
class Resource {
  usable = true;
}

/** A trivial stand-in for pg.Client with what pg-pool touches. */
class FakeClient extends EventEmitter {
  _queryable = true;
  _ending = false;
  connect(callback: (error?: Error) => void): void {
    process.nextTick(callback);
  }
  end(callback?: () => void): void {
    this._ending = true;
    if (callback) process.nextTick(callback);
  }
}

interface PgPoolClient {
  release(error?: Error | boolean): void;
}
interface PgPoolLike {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
}
const PgPool = createRequire(import.meta.url)('pg-pool') as new (options: object) => PgPoolLike;

/** One contender: acquire+release once, and a way to shut it down. */
interface Contender {
  name: string;
  cycle(): Promise<void>;
  close(): Promise<void>;
}

async function lifeline(): Promise<Contender> {
  const pool = new Pool<Resource>({
    factory: {
      create: async () => new Resource(),
      destroy: () => {},
      alive: (r) => r.usable,
    },
    min: RESOURCES,
    max: RESOURCES,
  });
  await warm(
    () => pool.acquire(),
    (r) => pool.release(r),
  );
  return {
    name: 'lifeline Pool',
    cycle: async () => {
      pool.release(await pool.acquire());
    },
    close: () => pool.drain(),
  };
}

async function pgPool(): Promise<Contender> {
  const pool = new PgPool({ Client: FakeClient, min: RESOURCES, max: RESOURCES, idleTimeoutMillis: 30_000 });
  await warm(
    () => pool.connect(),
    (c) => c.release(),
  );
  return {
    name: 'pg-pool',
    cycle: async () => {
      (await pool.connect()).release();
    },
    close: () => pool.end(),
  };
}

async function tarn(): Promise<Contender> {
  const pool = new TarnPool<Resource>({
    create: async () => new Resource(),
    destroy: () => {},
    min: RESOURCES,
    max: RESOURCES,
  });
  await warm(
    () => pool.acquire().promise,
    (r) => pool.release(r),
  );
  return {
    name: 'tarn',
    cycle: async () => {
      pool.release(await pool.acquire().promise);
    },
    close: async () => {
      await pool.destroy();
    },
  };
}

async function generic(): Promise<Contender> {
  const pool = genericPool.createPool<Resource>(
    { create: async () => new Resource(), destroy: async () => {} },
    { min: RESOURCES, max: RESOURCES },
  );
  await warm(
    () => pool.acquire(),
    (r) => pool.release(r),
  );
  return {
    name: 'generic-pool',
    cycle: async () => {
      await pool.release(await pool.acquire());
    },
    close: async () => {
      await pool.drain();
      await pool.clear();
    },
  };
}

/**
 * The floor: an ideal pool that costs one resolved promise per acquire and nothing per release, driven by
 * the same loop as the pools, so its ops/s is the most any pool could reach here.
 */
function floor(): Contender {
  const resource = new Resource();
  const acquire = (): Promise<Resource> => Promise.resolve(resource);
  const release = (_r: Resource): void => {};
  return {
    name: FLOOR,
    cycle: async () => {
      release(await acquire());
    },
    close: async () => {},
  };
}

/**
 * A bare FIFO pool whose waiters are resolving functions in a ring buffer: the reference row until
 * 2026-11-30 (waiter objects measured 1.04-1.06x as fast, see fifoIdeal), kept for waitingVariants, where
 * the `then` lookup, prototype and LIFO variants each change one thing of it. `lifo` is not fair.
 */
function fifoResolvers(name: string, make: () => Resource = () => new Resource(), lifo = false): Contender {
  const idle = Array.from({ length: RESOURCES }, make);
  const queue: (((r: Resource) => void) | undefined)[] = new Array(128).fill(undefined);
  let head = 0;
  let waiting = 0;
  const acquire = (): Promise<Resource> => {
    const r = waiting === 0 ? idle.pop() : undefined;
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => {
      queue[(head + waiting++) & 127] = resolve;
    });
  };
  const release = (r: Resource): void => {
    if (waiting === 0) {
      idle.push(r);
      return;
    }
    // lifo: the borrower who came last is served first.
    const at = lifo ? (head + waiting - 1) & 127 : head;
    const resolve = queue[at]!;
    queue[at] = undefined;
    if (!lifo) head = (head + 1) & 127;
    waiting--;
    resolve(r);
  };
  return {
    name,
    cycle: async () => {
      release(await acquire());
    },
    close: async () => {},
  };
}

/** A waiter of the reference pool: its promise and both resolving functions. */
class BareWaiter {
  declare resolve: (r: Resource) => void;
  declare reject: (error: Error) => void;
  readonly promise: Promise<Resource>;
  constructor() {
    this.promise = new Promise<Resource>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * A reference, not a target: the least a fair pool can do when borrowers outnumber resources. Idle resources
 * go out as `Promise.resolve(resource)` like the floor's; a borrower who finds none waits in a ring-buffer
 * FIFO as a waiter object holding a `new Promise` and its resolving functions (as lifeline's waiters do; on
 * 2026-11-30 1.04-1.06x as fast as storing the bare resolve function, see fifoResolvers), resolved directly by
 * release(). No liveness checks, timeouts, events or stats.
 * At 1 borrower it is the floor plus an array push/pop; at 64 it shows what the waiting itself costs.
 */
function fifoIdeal(): Contender {
  const idle = Array.from({ length: RESOURCES }, () => new Resource());
  const queue: (BareWaiter | undefined)[] = new Array(128).fill(undefined);
  let head = 0;
  let waiting = 0;
  const acquire = (): Promise<Resource> => {
    const r = waiting === 0 ? idle.pop() : undefined;
    if (r !== undefined) return Promise.resolve(r);
    const waiter = new BareWaiter();
    queue[(head + waiting++) & 127] = waiter;
    return waiter.promise;
  };
  const release = (r: Resource): void => {
    if (waiting === 0) {
      idle.push(r);
      return;
    }
    const waiter = queue[head]!;
    queue[head] = undefined;
    head = (head + 1) & 127;
    waiting--;
    waiter.resolve(r);
  };
  return {
    name: FIFO_IDEAL,
    cycle: async () => {
      release(await acquire());
    },
    close: async () => {},
  };
}

/**
 * The waiting micro-benchmark: 64 borrowers over 10 resources, the reference pool, the resolve-function ring
 * and variants of it that each change one thing, against lifeline and the floor, interleaved as in main(). A
 * resource with no
 * prototype chain, or no object at all (a number, cast), shows what resolving a waiter's promise with an
 * object costs in V8's generic `then` lookup; LIFO (unfair) shows what serving in arrival order costs.
 */
async function waitingVariants(): Promise<void> {
  const borrowers = 64;
  const contenders = [
    floor(),
    fifoIdeal(),
    fifoResolvers('bare FIFO, resolve functions in the ring'),
    fifoResolvers('… and the resource a number (no `then` lookup)', () => 1 as unknown as Resource),
    fifoResolvers('… and the resource with a null prototype', () =>
      Object.assign(Object.create(null) as Resource, { usable: true }),
    ),
    fifoResolvers('… and served last-in first-out (unfair)', () => new Resource(), true),
    await lifeline(),
  ];
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    for (const c of contenders) {
      const ops = await round(c, borrowers);
      if (r >= WARMUP_ROUNDS) samples.get(c.name)!.push(ops);
    }
  }
  for (const c of contenders) await c.close();
  const floorOps = median(samples.get(FLOOR)!);
  const fifoOps = median(samples.get(FIFO_IDEAL)!);
  console.log(
    `Waiting: ${borrowers} borrowers over ${RESOURCES} resources, median of ${ROUNDS} interleaved rounds of ${OPS_PER_ROUND} ops, ops per CPU-second; Node ${process.version}.\n`,
  );
  console.log('| Variant | ops/s | × floor | × reference (bare FIFO) |');
  console.log('|---|---:|---:|---:|');
  for (const c of contenders) {
    const ops = median(samples.get(c.name)!);
    console.log(
      `| ${c.name} | ${formatOps(ops)} | ${(ops / floorOps).toFixed(2)} | ${(ops / fifoOps).toFixed(2)} |`,
    );
  }
}

/** Opens all resources up front so no round pays for creation. */
async function warm<R>(acquire: () => Promise<R>, release: (r: R) => void): Promise<void> {
  const held = await Promise.all(Array.from({ length: RESOURCES }, acquire));
  for (const r of held) release(r);
}

/**
 * ops per second of CPU time of `borrowers` concurrent loops sharing OPS_PER_ROUND cycles. CPU time
 * (process.cpuUsage, GC threads included) rather than wall time, because the machine is shared: time
 * spent preempted by other processes would otherwise land on whichever pool was running.
 */
async function round(contender: Contender, borrowers: number): Promise<number> {
  const each = Math.floor(OPS_PER_ROUND / borrowers);
  // A collection left over from the previous contender must not be charged to this one (bench/run.ts
  // passes --expose-gc; standalone runs skip it). A full collection also shrinks the young generation,
  // so an unmeasured stretch follows to measure the steady state rather than the heap regrowing.
  (globalThis as { gc?: () => void }).gc?.();
  await Promise.all(Array.from({ length: borrowers }, () => cycles(contender, Math.ceil(each / 2))));
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: borrowers }, () => cycles(contender, each)));
  const used = process.cpuUsage(start);
  return (each * borrowers * 1e6) / (used.user + used.system);
}

async function cycles(contender: Contender, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await contender.cycle();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function formatOps(ops: number): string {
  return ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M` : `${(ops / 1e3).toFixed(0)} k`;
}

// ——— memory: 1,000 idle pooled TCP connections ————————————————————————————————————————————————————————
// Both pools hold the same thing, a connected raw net.Socket per resource, so the difference is the pools'
// own bookkeeping: lifeline's Pool<net.Socket> (alive() = not destroyed, timeouts off) against pg-pool with a
// Client that is a raw socket and nothing else (pg.Client's parser and buffers would be charged to pg-pool
// otherwise). Each runs in a fresh child process that loads the same modules; the server is the parent, so
// the accepted sockets are not in the measured process. Figures are after gc(), minus the same reading
// before the pool was made.

function openSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A pg.Client stand-in for pg-pool that is one connected socket. */
class SocketClient extends EventEmitter {
  _queryable = true;
  _ending = false;
  socket: net.Socket | undefined;
  constructor(private readonly options: { port: number }) {
    super();
  }
  connect(callback: (error?: Error) => void): void {
    openSocket(this.options.port).then((socket) => {
      this.socket = socket;
      callback();
    }, callback);
  }
  end(callback?: () => void): void {
    this._ending = true;
    this.socket?.destroy();
    if (callback) process.nextTick(callback);
  }
}

async function fillLifeline(port: number): Promise<() => Promise<void>> {
  const pool = new Pool<net.Socket>({
    factory: {
      create: () => openSocket(port),
      destroy: (socket) => {
        socket.destroy();
      },
      alive: (socket) => !socket.destroyed,
    },
    max: CONNECTIONS,
    idleTimeoutMs: 0,
    maxLifetimeMs: 0,
    createConcurrency: 100,
  });
  const held = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.acquire()));
  for (const socket of held) pool.release(socket);
  return () => pool.drain();
}

async function fillPgPool(port: number): Promise<() => Promise<void>> {
  const pool = new PgPool({ Client: SocketClient, port, max: CONNECTIONS, idleTimeoutMillis: 0 });
  const held = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.connect()));
  for (const client of held) client.release();
  return () => pool.end();
}

async function settledUsage(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory row needs --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage();
}

/** Child mode: fills one pool and prints its heap and RSS growth as JSON. */
async function memoryChild(which: string, port: number): Promise<void> {
  const before = await settledUsage();
  const close = which === 'lifeline' ? await fillLifeline(port) : await fillPgPool(port);
  const after = await settledUsage();
  console.log(JSON.stringify({ heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss }));
  await close();
}

async function measureMemory(): Promise<Record<string, { heap: number; rss: number }>> {
  const accepted = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => accepted.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const samples: Record<string, { heap: number[]; rss: number[] }> = {
    lifeline: { heap: [], rss: [] },
    'pg-pool': { heap: [], rss: [] },
  };
  const self = fileURLToPath(import.meta.url);
  for (let run = 0; run < MEMORY_RUNS; run++) {
    for (const which of Object.keys(samples)) {
      const child = spawn(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', self, '--memory-child', which, String(port)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`memory child ${which} exited with ${code}`);
      const { heap, rss } = JSON.parse(out) as { heap: number; rss: number };
      samples[which]!.heap.push(heap);
      samples[which]!.rss.push(rss);
    }
  }
  server.close();
  for (const socket of accepted) socket.destroy();
  const result: Record<string, { heap: number; rss: number }> = {};
  for (const [which, s] of Object.entries(samples)) {
    result[which] = { heap: median(s.heap), rss: median(s.rss) };
  }
  return result;
}

function formatBytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

async function main(): Promise<void> {
  const contenders = [await lifeline(), await pgPool(), await tarn(), await generic(), fifoIdeal(), floor()];
  const results = new Map<string, Record<number, number>>();
  for (const borrowers of [1, 64]) {
    const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      for (const c of contenders) {
        const ops = await round(c, borrowers);
        if (r >= WARMUP_ROUNDS) samples.get(c.name)!.push(ops);
      }
    }
    for (const c of contenders) {
      const row = results.get(c.name) ?? {};
      row[borrowers] = median(samples.get(c.name)!);
      results.set(c.name, row);
    }
  }
  for (const c of contenders) await c.close();

  const peers = ['pg-pool', 'tarn', 'generic-pool'];
  const best = (b: number): number => Math.max(...peers.map((p) => results.get(p)![b]!));
  console.log(
    `Acquire+release of an idle resource, ${RESOURCES} resources, median of ${ROUNDS} interleaved rounds of ${OPS_PER_ROUND} ops, ops per CPU-second; ` +
      `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores.\n`,
  );
  const floorOps = results.get(FLOOR)!;
  console.log(
    '| Pool | 1 borrower ops/s | × fastest peer | × floor | 64 borrowers ops/s | × fastest peer | × floor |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, row] of results) {
    const cells = [1, 64].flatMap((b) => [
      formatOps(row[b]!),
      `${(row[b]! / best(b)).toFixed(2)}×`,
      (row[b]! / floorOps[b]!).toFixed(2),
    ]);
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }

  const memory = await measureMemory();
  const ours = memory.lifeline!;
  const theirs = memory['pg-pool']!;
  console.log(
    `\n${CONNECTIONS} idle pooled TCP connections to a local server, growth after gc(), median of ${MEMORY_RUNS} runs in fresh processes:\n`,
  );
  console.log('| Pool | heap | RSS |');
  console.log('|---|---:|---:|');
  console.log(`| lifeline Pool | ${formatBytes(ours.heap)} | ${formatBytes(ours.rss)} |`);
  console.log(`| pg-pool | ${formatBytes(theirs.heap)} | ${formatBytes(theirs.rss)} |`);
  console.log(
    `| ratio lifeline / pg-pool | ${(ours.heap / theirs.heap).toFixed(2)}× | ${(ours.rss / theirs.rss).toFixed(2)}× |`,
  );
}

if (process.argv[2] === '--memory-child') {
  await memoryChild(process.argv[3]!, Number(process.argv[4]));
} else if (process.argv[2] === '--waiting') {
  await waitingVariants();
} else if (process.argv[2] === '--memory') {
  console.log(JSON.stringify(await measureMemory()));
} else {
  await main();
}
