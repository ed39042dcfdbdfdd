// `npm run soak -- --minutes N --seed S [--json] [--html file] [--adapters pg,redis]`: every adapter runs a
// mixed read/write workload through its own fault proxy while one seeded schedule of faults hits them all.
// Invariants: no acknowledged write lost, none applied twice, no operation past its bound, no uncaught
// exception or unhandled rejection, resources flat. Not part of the published package (run with tsx).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FaultProxy } from '../src/faults/index.js';
import { html, table } from './report.js';
import { grows, type Sample, sample, slopePerMinute } from './resources.js';
import { type Fault, rng, schedule } from './schedule.js';
import { pgWorkload, redisWorkload, type Workload } from './workloads.js';

export interface AdapterResult {
  name: string;
  ops: number;
  writesAcked: number;
  errors: Record<string, number>;
  p99Ms: number;
  lost: number;
  duplicated: number;
  pastDeadline: number;
  ok: boolean;
}

export interface SoakResult {
  seed: number;
  minutes: number;
  adapters: AdapterResult[];
  uncaught: string[];
  resources: { samples: Sample[]; slopes: Record<string, number>; growing: string[] };
  faults: number;
  ok: boolean;
  schedule?: Fault[];
}

const WORKERS = 4;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runAdapter(
  w: Workload,
  proxy: FaultProxy,
  until: number,
  seed: number,
  startId: number,
): Promise<AdapterResult> {
  const random = rng(seed);
  const acked = new Set<number>();
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let ops = 0;
  let pastDeadline = 0;
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
            return 'error' as const;
          },
        ),
        bound,
      ]);
      clearTimeout(timer);
      ops++;
      if (outcome === 'late') {
        pastDeadline++;
        // Still count an acknowledgement that comes later: the write is then acknowledged and must be there.
        op.then(() => write && acked.add(id)).catch(() => {});
        continue;
      }
      latencies.push(Date.now() - started);
      if (outcome === 'ok' && write) acked.add(id);
      if (outcome === 'error') await sleep(20); // do not spin on a dead server
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  await proxy.stop().catch(() => {});
  await w.close().catch(() => {});
  await sleep(200);
  const applied = await w.applied();
  let lost = 0;
  for (const id of acked) if (!applied.has(id)) lost++;
  let duplicated = 0;
  for (const n of applied.values()) if (n > 1) duplicated++;
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
  return {
    name: w.name,
    ops,
    writesAcked: acked.size,
    errors,
    p99Ms,
    lost,
    duplicated,
    pastDeadline,
    ok: lost === 0 && duplicated === 0 && pastDeadline === 0,
  };
}

async function inject(proxies: FaultProxy[], faults: Fault[], start: number): Promise<void> {
  let n = 0;
  const pending: Promise<void>[] = [];
  for (const fault of faults) {
    const wait = start + fault.at - Date.now();
    if (wait > 0) await sleep(wait);
    const name = `f${n++}`;
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
}): Promise<SoakResult> {
  const totalMs = options.minutes * 60_000;
  const run = `r${options.seed}-${process.pid}`;
  const uncaught: string[] = [];
  const onUncaught = (error: unknown) =>
    uncaught.push(`uncaught: ${String((error as Error)?.stack ?? error)}`);
  const onRejection = (error: unknown) =>
    uncaught.push(`unhandled rejection: ${String((error as Error)?.stack ?? error)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const all: Record<string, (run: string) => Workload> = { pg: pgWorkload, redis: redisWorkload };
  const workloads = options.adapters.map((name) => {
    const make = all[name];
    if (!make) throw new Error(`unknown adapter "${name}" (known: ${Object.keys(all).join(', ')})`);
    return make(run);
  });
  const faults = schedule(options.seed, totalMs);
  const proxies: FaultProxy[] = [];
  for (const w of workloads) {
    await w.setup(run);
    const proxy = new FaultProxy({ upstream: w.upstream, seed: options.seed, name: w.name });
    const { port } = await proxy.start();
    proxies.push(proxy);
    w.open(port);
  }
  const start = Date.now();
  const samples: Sample[] = [];
  const connections = () => proxies.reduce((s, p) => s + p.stats().connectionsOpen, 0);
  const sampler = setInterval(
    () => samples.push(sample(Date.now() - start, connections())),
    Math.max(1000, totalMs / 120),
  );
  samples.push(sample(0, connections()));
  const injecting = inject(proxies, faults, start);
  const results = await Promise.all(
    workloads.map((w, i) =>
      runAdapter(w, proxies[i] as FaultProxy, start + totalMs, options.seed + i, (i + 1) * 1e8),
    ),
  );
  await injecting;
  clearInterval(sampler);
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
  const keys = ['fds', 'closeWait', 'heapMb', 'serverConnections'] as const;
  const slopes = Object.fromEntries(keys.map((k) => [k, slopePerMinute(samples, k)]));
  // Allowances: a few fds and sockets of jitter, heap within 20 MB, connections within the pools' sizes.
  const allowance = { fds: 8, closeWait: 4, heapMb: 20, serverConnections: 8 };
  const growing = keys.filter((k) => grows(samples, k, allowance[k]));
  const ok = results.every((r) => r.ok) && uncaught.length === 0 && growing.length === 0;
  return {
    seed: options.seed,
    minutes: options.minutes,
    adapters: results,
    uncaught,
    resources: { samples, slopes, growing },
    faults: faults.length,
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
      adapters: { type: 'string', default: 'pg,redis' },
    },
  });
  const minutes = Number(values.minutes);
  const seed = Number(values.seed);
  if (!(minutes > 0 && minutes <= 24 * 60))
    throw new Error(`--minutes must be in (0, 1440], got ${values.minutes}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (!(globalThis as { gc?: unknown }).gc)
    process.stderr.write('soak: run with --expose-gc for heap after GC\n');
  const result = await soak({ minutes, seed, adapters: values.adapters.split(',') });
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
