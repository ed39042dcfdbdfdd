// `npm run soak -- --minutes N --seed S [--json] [--html file] [--adapters pg,redis,…] [--kernel auto|off]
// [--fuzz]`: every adapter runs a mixed read/write workload through its own fault proxy while one seeded
// schedule of faults hits them all (toxics, restarts, and kernel drops in a network namespace where root
// allows). Invariants: no acknowledged write lost, none applied twice, no operation past its bound, no uncaught
// exception or unhandled rejection, resources flat. `--fuzz` runs soak/fuzz.ts instead. Not part of the
// published package (run with tsx).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FaultProxy } from '../src/faults/index.js';
import { fuzz } from './fuzz.js';
import { IdCounts, Latencies } from './ids.js';
import { KernelDrops } from './kernel.js';
import { html, table } from './report.js';
import { grows, type Sample, sample, slopeOf, slopePerMinute } from './resources.js';
import { type Fault, rng, schedule } from './schedule.js';
import type { Workload } from './workloads.js';

export interface AdapterResult {
  name: string;
  ops: number;
  writesAcked: number;
  errors: Record<string, number>;
  /** Errors without a string `code` (untyped): the first message seen under each key. */
  untyped: Record<string, string>;
  p99Ms: number;
  lost: number;
  duplicated: number;
  pastDeadline: number;
  /** Slope per minute of this adapter's server-side connections, and their peak over the samples. */
  connectionsSlope: number;
  connectionsMax: number;
  /** The first operations past their bound: when they started (ms into the run), what they were, and when they
   * finally settled (ms after their start; absent: not by the end of the run). */
  late: { atMs: number; write: boolean; settledAfterMs?: number; outcome?: string }[];
  ok: boolean;
}

export interface SoakResult {
  seed: number;
  minutes: number;
  adapters: AdapterResult[];
  uncaught: string[];
  resources: { samples: Sample[]; slopes: Record<string, number>; growing: string[] };
  faults: number;
  /** Kernel drops: made in a network namespace, or skipped with the reason. */
  kernel: { on: boolean; reason?: string; drops: number; errors: string[] };
  ok: boolean;
  schedule?: Fault[];
}

/** Loaded on demand, so an adapter whose module fails to load fails its own run, not every adapter's. */
export const ADAPTERS: Record<string, (run: string) => Promise<Workload>> = {
  pg: async (run) => (await import('./workloads.js')).pgWorkload(run),
  redis: async (run) => (await import('./workloads.js')).redisWorkload(run),
  'redis-node': async (run) => (await import('./workloads.js')).redisNodeWorkload(run),
  mysql: async (run) => (await import('./workloads.js')).mysqlWorkload(run),
  http: async () => (await import('./http-workloads.js')).httpWorkload(),
  peers: async () => (await import('./http-workloads.js')).peersWorkload(),
};

/** Opens each pool before the baseline is sampled: a pool filling up is not a leak. */
async function warmUp(w: Workload): Promise<void> {
  const deadline = Date.now() + 5000;
  for (let round = 0; round < 3 && Date.now() < deadline; round++) {
    await Promise.all(Array.from({ length: WORKERS }, () => w.read().catch(() => {})));
  }
}

const WORKERS = 4;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runAdapter(
  w: Workload,
  proxy: FaultProxy,
  until: number,
  seed: number,
  startId: number,
  runStart: number,
): Promise<Omit<AdapterResult, 'connectionsSlope' | 'connectionsMax' | 'ok'>> {
  const random = rng(seed);
  const acked = new IdCounts();
  const errors: Record<string, number> = {};
  const untyped: Record<string, string> = {};
  const latencies = new Latencies();
  let ops = 0;
  let pastDeadline = 0;
  const late: AdapterResult['late'] = [];
  let nextId = startId;
  const worker = async () => {
    while (Date.now() < until) {
      const write = random() < 0.5;
      const id = nextId++;
      const started = Date.now();
      const op = write ? w.write(id) : w.read();
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), w.boundMs);
      });
      const outcome = await Promise.race([
        op.then(
          () => 'ok' as const,
          (error: unknown) => {
            const e = error as { code?: unknown; name?: unknown };
            const key =
              typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'unknown';
            errors[key] = (errors[key] ?? 0) + 1;
            if (typeof e?.code !== 'string' && untyped[key] === undefined) {
              untyped[key] = String((error as Error)?.message ?? error).slice(0, 200);
            }
            return 'error' as const;
          },
        ),
        bound,
      ]);
      clearTimeout(timer);
      ops++;
      if (outcome === 'late') {
        pastDeadline++;
        const record: AdapterResult['late'][number] = { atMs: started - runStart, write };
        if (late.length < 10) late.push(record);
        // Still count an acknowledgement that comes later: the write is then acknowledged and must be there.
        op.then(
          () => {
            if (write) acked.add(id);
            Object.assign(record, { settledAfterMs: Date.now() - started, outcome: 'ok' });
          },
          (error: unknown) =>
            Object.assign(record, {
              settledAfterMs: Date.now() - started,
              outcome: String((error as { code?: unknown })?.code ?? (error as Error)?.name),
            }),
        );
        continue;
      }
      latencies.add(Date.now() - started);
      if (outcome === 'ok' && write) acked.add(id);
      if (outcome === 'error') await sleep(20); // do not spin on a dead server
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  await proxy.stop().catch(() => {});
  await w.close().catch(() => {});
  await sleep(200);
  const { lost, duplicated } = await w.verify(acked);
  const p99Ms = latencies.quantile(0.99);
  return {
    name: w.name,
    ops,
    writesAcked: acked.size,
    errors,
    untyped,
    p99Ms,
    lost,
    duplicated,
    pastDeadline,
    late,
  };
}

async function inject(
  proxies: FaultProxy[],
  faults: Fault[],
  start: number,
  kernel: KernelDrops | undefined,
): Promise<void> {
  let n = 0;
  const pending: Promise<unknown>[] = [];
  for (const fault of faults) {
    const wait = start + fault.at - Date.now();
    if (wait > 0) await sleep(wait);
    const name = `f${n++}`;
    if (fault.kind === 'drop') {
      if (!kernel) continue;
      const end = kernel.start(
        fault.lossPercent === undefined
          ? { kind: 'blackhole' }
          : { kind: 'loss', percent: fault.lossPercent },
      );
      pending.push(sleep(fault.durationMs).then(end));
      continue;
    }
    for (const proxy of proxies) {
      if (fault.kind === 'restart') {
        proxy.disable();
        pending.push(sleep(fault.durationMs).then(() => proxy.enable()));
      } else if (fault.toxic) {
        proxy.addToxic({ ...fault.toxic, name });
        pending.push(sleep(fault.durationMs).then(() => proxy.removeToxic(name)));
      }
    }
  }
  await Promise.all(pending);
}

export async function soak(options: {
  minutes: number;
  seed: number;
  adapters: string[];
  kernel?: 'auto' | 'off';
  log?: (line: string) => void;
}): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const totalMs = options.minutes * 60_000;
  const run = `r${options.seed}-${process.pid}`;
  const uncaught: string[] = [];
  const onUncaught = (error: unknown) =>
    uncaught.push(`uncaught: ${String((error as Error)?.stack ?? error)}`);
  const onRejection = (error: unknown) =>
    uncaught.push(`unhandled rejection: ${String((error as Error)?.stack ?? error)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const workloads: Workload[] = [];
  const notLoaded: string[] = [];
  for (const name of options.adapters) {
    const make = ADAPTERS[name];
    if (!make) throw new Error(`unknown adapter "${name}" (known: ${Object.keys(ADAPTERS).join(', ')})`);
    try {
      workloads.push(await make(run));
    } catch (error) {
      notLoaded.push(`${name}: ${(error as Error).message}`);
      log(`soak: adapter ${name} NOT RUN — its module failed to load: ${(error as Error).message}`);
    }
  }
  let kernel: KernelDrops | undefined;
  let kernelReason: string | undefined = 'turned off (--kernel off)';
  if (options.kernel !== 'off') {
    const made = await KernelDrops.create();
    if (typeof made === 'string') kernelReason = made;
    else [kernel, kernelReason] = [made, undefined];
  }
  if (kernelReason !== undefined)
    log(`soak: KERNEL DROPS SKIPPED — ${kernelReason}; only userspace faults are injected`);
  const faults = schedule(options.seed, totalMs);
  const proxies: FaultProxy[] = [];
  for (const w of workloads) {
    await w.setup();
    const listen = `${kernel?.listenHost ?? '127.0.0.1'}:0`;
    const proxy = new FaultProxy({ listen, upstream: w.upstream, seed: options.seed, name: w.name });
    const { port } = await proxy.start();
    proxies.push(proxy);
    const to = kernel ? await kernel.route(port) : { host: '127.0.0.1', port };
    w.open(to.host, to.port);
  }
  await Promise.all(workloads.map(warmUp));
  const start = Date.now();
  const samples: Sample[] = [];
  const perAdapter: number[][] = workloads.map(() => []);
  const connections = () => {
    let total = 0;
    workloads.forEach((w, i) => {
      const n = w.serverConnections?.() ?? (proxies[i] as FaultProxy).stats().connectionsOpen;
      perAdapter[i]?.push(n);
      total += n;
    });
    return total;
  };
  const sampler = setInterval(
    () => samples.push(sample(Date.now() - start, connections())),
    Math.max(1000, totalMs / 120),
  );
  samples.push(sample(0, connections()));
  const injecting = inject(proxies, faults, start, kernel);
  const runs = await Promise.all(
    workloads.map((w, i) =>
      runAdapter(w, proxies[i] as FaultProxy, start + totalMs, options.seed + i, (i + 1) * 1e8, start),
    ),
  );
  await injecting;
  clearInterval(sampler);
  for (const w of workloads) await w.teardown?.().catch(() => {});
  const drops = kernel?.applied ?? 0;
  const kernelErrors = kernel?.errors ?? [];
  await kernel?.destroy().catch((error: unknown) => kernelErrors.push((error as Error).message));
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
  const ts = samples.map((s) => s.t);
  const results: AdapterResult[] = runs.map((r, i) => ({
    ...r,
    connectionsSlope: slopeOf(ts, perAdapter[i] ?? []),
    connectionsMax: Math.max(0, ...(perAdapter[i] ?? [])),
    ok: r.lost === 0 && r.duplicated === 0 && r.pastDeadline === 0,
  }));
  const keys = ['fds', 'closeWait', 'heapMb', 'serverConnections'] as const;
  const slopes = Object.fromEntries(keys.map((k) => [k, slopePerMinute(samples, k)]));
  // Allowances: a few fds and sockets of jitter per adapter (pools refill lazily, side connections come and
  // go), heap within 20 MB.
  const n = workloads.length;
  const allowance = { fds: 4 + 4 * n, closeWait: 4, heapMb: 20, serverConnections: 4 + 4 * n };
  const growing = keys.filter((k) => grows(samples, k, allowance[k]));
  const ok =
    results.every((r) => r.ok) &&
    uncaught.length === 0 &&
    growing.length === 0 &&
    kernelErrors.length === 0 &&
    notLoaded.length === 0;
  return {
    seed: options.seed,
    minutes: options.minutes,
    adapters: results,
    uncaught: [...notLoaded.map((m) => `not loaded: ${m}`), ...uncaught],
    resources: { samples, slopes, growing },
    faults: faults.length,
    kernel: {
      on: kernel !== undefined,
      ...(kernelReason ? { reason: kernelReason } : {}),
      drops,
      errors: kernelErrors,
    },
    ok,
    ...(ok ? {} : { schedule: faults }),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      adapters: { type: 'string', default: Object.keys(ADAPTERS).join(',') },
      kernel: { type: 'string', default: 'auto' },
      fuzz: { type: 'boolean', default: false },
    },
  });
  const minutes = Number(values.minutes);
  const seed = Number(values.seed);
  if (!(minutes > 0 && minutes <= 24 * 60))
    throw new Error(`--minutes must be in (0, 1440], got ${values.minutes}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (values.kernel !== 'auto' && values.kernel !== 'off')
    throw new Error(`--kernel must be auto or off, got ${values.kernel}`);
  if (values.fuzz) {
    const result = await fuzz({ minutes, seed });
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : result.text);
    if (!result.ok)
      process.stderr.write(
        `fuzz FAILED — replay with: npm run soak -- --fuzz --minutes ${minutes} --seed ${seed}\n`,
      );
    return result.ok ? 0 : 1;
  }
  if (!(globalThis as { gc?: unknown }).gc)
    process.stderr.write('soak: run with --expose-gc for heap after GC\n');
  const result = await soak({ minutes, seed, adapters: values.adapters.split(','), kernel: values.kernel });
  if (values.html) writeFileSync(values.html, html(result));
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(table(result));
  if (!result.ok) {
    process.stderr.write(`soak FAILED — replay with: npm run soak -- --minutes ${minutes} --seed ${seed}\n`);
    process.stderr.write(`fault schedule:\n${JSON.stringify(result.schedule, null, 1)}\n`);
  }
  return result.ok ? 0 : 1;
}

if (process.argv[1]?.endsWith('soak.ts')) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`soak: ${(error as Error).message}\n`);
      process.exit(2);
    },
  );
}
