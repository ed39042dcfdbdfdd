// `npm run soak -- --fuzz --minutes N --seed S`: for N minutes, alternates rounds of raw-socket fuzzing of the
// control server (soak/fuzz-control.ts) and hostile-server rounds against lifeline-net/pg's wire handling
// (soak/hostile-pg.ts: every fixed scenario once, then seeded random mutations of a valid conversation).
// Fails on a 5xx, a request left unanswered, an unhealthy server, a query past its bound, an untyped error,
// an uncaught exception, a pool.end() that does not settle, or heap growth past 32 MB after GC.
import { fuzzControl } from './fuzz-control.js';
import { mutated, runScenario, SCENARIOS, type ScenarioResult } from './hostile-pg.js';

export interface FuzzResult {
  seed: number;
  minutes: number;
  control: { rounds: number; requests: number; statuses: Record<string, number>; failures: string[] };
  pg: { scenarios: number; queries: number; errors: Record<string, number>; failures: string[] };
  heapMb: { start: number; end: number };
  ok: boolean;
  text: string;
}

const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1048576;
};

function pgFailures(r: ScenarioResult): string[] {
  const out: string[] = [];
  if (r.hung > 0) out.push(`${r.name}: ${r.hung} queries past their bound`);
  if (r.untyped.length > 0) out.push(`${r.name}: untyped errors: ${r.untyped.join(' | ')}`);
  if (r.uncaught.length > 0)
    out.push(`${r.name}: uncaught: ${r.uncaught.map((u) => u.split('\n')[0]).join(' | ')}`);
  if (!r.ended) out.push(`${r.name}: pool.end() did not settle`);
  return out;
}

export async function fuzz(options: { minutes: number; seed: number }): Promise<FuzzResult> {
  const until = Date.now() + options.minutes * 60_000;
  const start = heapMb();
  const control = {
    rounds: 0,
    requests: 0,
    statuses: {} as Record<string, number>,
    failures: [] as string[],
  };
  const pg = { scenarios: 0, queries: 0, errors: {} as Record<string, number>, failures: [] as string[] };
  let round = 0;
  while (Date.now() < until) {
    const c = await fuzzControl(options.seed + round, 200);
    control.rounds++;
    control.requests += c.requests;
    for (const [k, v] of Object.entries(c.statuses)) control.statuses[k] = (control.statuses[k] ?? 0) + v;
    control.failures.push(
      ...c.serverErrors.map((r) => `5xx for ${JSON.stringify(r)}`),
      ...c.unanswered.map((r) => `unanswered: ${JSON.stringify(r)}`),
      ...(c.healthyAfter ? [] : [`round ${round}: server unhealthy after`]),
    );
    // Every fixed scenario in the first round, then 8 random mutations per round.
    const scenarios =
      round === 0
        ? SCENARIOS
        : Array.from({ length: 8 }, (_, i) => mutated(options.seed * 1000 + round * 8 + i));
    for (const scenario of scenarios) {
      if (Date.now() >= until && round > 0) break;
      const r = await runScenario(scenario, 2);
      pg.scenarios++;
      pg.queries += r.queries;
      for (const [k, v] of Object.entries(r.errors)) pg.errors[k] = (pg.errors[k] ?? 0) + v;
      pg.failures.push(...pgFailures(r));
    }
    round++;
  }
  const end = heapMb();
  const grew = end - start > 32;
  const ok = control.failures.length === 0 && pg.failures.length === 0 && !grew;
  const lines = [
    `fuzz: ${options.minutes} min, seed ${options.seed} — ${ok ? 'PASS' : 'FAIL'}`,
    `control server: ${control.requests} raw requests in ${control.rounds} rounds; statuses ${JSON.stringify(control.statuses)}`,
    `pg wire: ${pg.scenarios} hostile-server scenarios, ${pg.queries} queries; errors ${JSON.stringify(pg.errors)}`,
    `heap after GC: ${start.toFixed(1)} MB → ${end.toFixed(1)} MB${grew ? ' (GROWING)' : ''}`,
    ...control.failures.slice(0, 20),
    ...pg.failures.slice(0, 20),
  ];
  return {
    seed: options.seed,
    minutes: options.minutes,
    control,
    pg,
    heapMb: { start, end },
    ok,
    text: `${lines.join('\n')}\n`,
  };
}
