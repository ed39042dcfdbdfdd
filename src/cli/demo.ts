// `lifeline demo`: replays the incidents against an embedded Postgres (or --database-url) through a
// plain pg.Pool and lifeline-net/pg side by side, prints the table and writes the HTML report.

import { parseArgs } from 'node:util';
import { redact } from '../core/errors.js';
import { EmbeddedPostgresUnavailableError } from '../demo/embedded.js';
import { renderReport } from '../demo/report.js';
import { type DemoResult, type ProgressEvent, runDemo } from '../demo/runner.js';
import { findScenarios, SCENARIOS } from '../demo/scenarios.js';
import { overall, story } from '../demo/story.js';
import { renderTable } from '../demo/table.js';
import { argsError, UsageError, usageFailure, versionLine } from './args.js';
import { checkReportPath, partialReportPath, writeReport } from './report-file.js';

const USAGE = `Usage: lifeline demo [options]

Replays the incidents lifeline exists for (peer FIN, RST, a proxy's connection lifetime, black hole,
partition, a peer that stops reading, server restart, writes under resets) against a database,
through a plain pg.Pool and through lifeline-net/pg side by side, and shows what each application saw.

Options:
  --quick                 short scenarios (under 30 s in all)
  --database-url <url>    run against this Postgres instead of the embedded one (PGlite)
  --report <file>         where to write the HTML report (default: demo.html); checked before the run.
                          An interrupted run writes what finished to <file>.partial.html instead,
                          leaving the last full report as it was
  --json                  print the results as JSON on stdout (progress goes to stderr)
  --scenario <a,b,...>    run only these scenarios
  --seed <n>              seed for the fault proxies and the workload (default: 1)
  -h, --help              show this help
  --version               print the version

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}

Exit codes: 0 done, 1 failed to run, 2 bad usage (a report path that cannot be written included),
130 interrupted (Ctrl-C).`;

const SYNOPSIS =
  'Usage: lifeline demo [--quick] [--database-url <url>] [--report <file>] [--json] [--scenario <a,b>] [--seed <n>]';

interface Parsed {
  quick: boolean;
  databaseUrl: string | undefined;
  report: string;
  json: boolean;
  scenarios: string[] | undefined;
  seed: number;
}

/** A --database-url the runner can use: one host, a port from 1 to 65535 (password hidden in errors). */
function databaseUrl(text: string): string {
  const bad = (why: string): UsageError => new UsageError(`--database-url ${why}, got ${redact(text)}`);
  if (!/^postgres(ql)?:\/\//.test(text)) throw bad('must be a postgres:// or postgresql:// URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('must be a URL with one host and a port from 1 to 65535');
  }
  if (url.hostname === '') throw bad('must name a host');
  if (url.port === '0') throw bad('must have a port from 1 to 65535');
  return text;
}

const OPTIONS = {
  quick: { type: 'boolean', default: false },
  'database-url': { type: 'string' },
  report: { type: 'string', default: 'demo.html' },
  json: { type: 'boolean', default: false },
  scenario: { type: 'string' },
  seed: { type: 'string', default: '1' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const;

function options(argv: string[]) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw argsError(error);
  }
}

function parse(argv: string[]): Parsed | 'help' | 'version' {
  const { values, positionals } = options(argv);
  if (values.help) return 'help';
  if (values.version) return 'version';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
  const scenarios = values.scenario
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    findScenarios(scenarios);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    quick: values.quick,
    databaseUrl: values['database-url'] === undefined ? undefined : databaseUrl(values['database-url']),
    report: values.report,
    json: values.json,
    scenarios,
    seed,
  };
}

/** Progress: one live line on a terminal, plain lines otherwise (logs, CI, pipes). */
function progressPrinter(stream: NodeJS.WriteStream): {
  onProgress: (e: ProgressEvent) => void;
  done(): void;
} {
  const live = stream.isTTY === true;
  let liveLine = false;
  const clear = (): void => {
    if (liveLine) stream.write('\r\x1b[2K');
    liveLine = false;
  };
  return {
    onProgress(event) {
      switch (event.type) {
        case 'database':
          clear();
          stream.write(`${event.message}\n`);
          break;
        case 'scenario':
          clear();
          stream.write(
            `[${event.index + 1}/${event.total}] ${event.scenario.name}: ${event.scenario.fault}\n`,
          );
          break;
        case 'tick': {
          if (!live) break;
          const { naive, lifeline } = event.sides;
          const fraction = Math.min(1, event.elapsedMs / event.totalMs);
          const bar = '█'.repeat(Math.round(fraction * 12)).padEnd(12, '░');
          const side = (s: typeof naive): string => `${s.ok} ok ${s.errors} err ${s.pending} pending`;
          const line = `  ${bar}  pg.Pool ${side(naive)}  │  lifeline-net/pg ${side(lifeline)}`;
          clear();
          // One row only: a line that wraps could not be cleared in place.
          stream.write(line.slice(0, Math.max(20, (stream.columns ?? 120) - 1)));
          liveLine = true;
          break;
        }
        case 'scenario-done':
          clear();
          stream.write(`  ${story(event.result)}\n`);
          break;
      }
    },
    done: clear,
  };
}

export async function main(argv: string[]): Promise<number> {
  let options: Parsed;
  let reportPath: string;
  try {
    const parsed = parse(argv);
    if (parsed === 'help' || parsed === 'version') {
      console.log(parsed === 'help' ? USAGE : versionLine());
      return 0;
    }
    options = parsed;
    // Before the run, not after it: a report that cannot be written must not cost a minute of faults.
    reportPath = await checkReportPath(options.report);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageFailure('lifeline demo', error.message, SYNOPSIS));
    return 2;
  }

  const out = options.json ? process.stderr : process.stdout;
  const progress = progressPrinter(out);
  const controller = new AbortController();
  const onSigint = (): void => {
    progress.done();
    out.write('\ninterrupted: stopping the current scenario and cleaning up…\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  let result: DemoResult;
  try {
    result = await runDemo({
      quick: options.quick,
      databaseUrl: options.databaseUrl,
      scenarios: options.scenarios,
      seed: options.seed,
      signal: controller.signal,
      onProgress: progress.onProgress,
    });
  } catch (error) {
    progress.done();
    if (error instanceof EmbeddedPostgresUnavailableError) {
      console.error(`lifeline demo: ${error.message}`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`lifeline demo: failed: ${message}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  progress.done();

  // The results first: whatever happens to the report, the run is not lost.
  const table = renderTable(result.scenarios);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    out.write(`\n${table}\n\n${overall(result.scenarios)}\n`);
  }
  // An interrupted run's report goes next to the full one, never over it.
  const target = result.aborted ? partialReportPath(reportPath) : reportPath;
  try {
    await writeReport(target, renderReport(result, table));
  } catch (error) {
    console.error(`lifeline demo: cannot write the report to ${target}: ${(error as Error).message}`);
    return 1;
  }
  out.write(
    result.aborted
      ? `Report of the scenarios that finished: ${target} (${reportPath} was left as it was)\n`
      : `Report: ${target}\n`,
  );
  return result.aborted ? 130 : 0;
}
