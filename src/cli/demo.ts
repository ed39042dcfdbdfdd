// `lifeline demo`: replays the incidents against a server through a plain client and lifeline's side by
// side (the driver's pair: for the default, pg, an embedded Postgres or --database-url, pg.Pool vs
// lifeline-net/pg), prints the table and writes the HTML report.

import { parseArgs } from 'node:util';
import { LifelineError, redact } from '../core/errors.js';
import type { DemoDriver, DriverLabels } from '../demo/driver.js';
import { DEFAULT_DRIVER, DRIVERS, findDriver } from '../demo/drivers/index.js';
import { renderReport } from '../demo/report.js';
import { type DemoResult, type ProgressEvent, runDemo } from '../demo/runner.js';
import { findScenarios } from '../demo/scenarios.js';
import { overall, story } from '../demo/story.js';
import { renderTable } from '../demo/table.js';
import { argsError, missingPackage, UsageError, usageFailure, versionLine } from './args.js';
import { checkReportPath, partialReportPath, writeReport } from './report-file.js';

function usage(driver: DemoDriver): string {
  const width = Math.max(0, ...Object.keys(DRIVERS).map((d) => d.length));
  const drivers = Object.entries(DRIVERS).map(([name, d]) => `  ${name.padEnd(width)}  ${d.summary}`);
  return `Usage: lifeline demo [options]

Replays the incidents lifeline exists for (peer FIN, RST, a proxy's connection lifetime, black hole,
partition, a peer that stops reading, server restart, writes under resets) against a server,
through a plain client and through lifeline's side by side (by default pg.Pool and lifeline-net/pg),
and shows what each application saw.

Options:
  --driver <name>         which server and clients (default: ${DEFAULT_DRIVER}); see Drivers below
  --quick                 short scenarios (under 30 s in all)
  --url <url>             run against this server instead of the driver's default
                          (${driver.name}: ${driver.defaultTarget}; e.g. ${driver.urlExample})
  --database-url <url>    the same as --url
  --report <file>         where to write the HTML report (default: demo.html); checked before the run.
                          An interrupted run writes what finished to <file>.partial.html instead,
                          leaving the last full report as it was
  --json                  print the results as JSON on stdout (progress goes to stderr)
  --scenario <a,b,...>    run only these scenarios (replica-lag and replica-down run only when named, and
                          need a primary with a streaming replica: --database-url
                          'postgres://user@primary:5432/db?replica=replica-host:5432')
  --seed <n>              seed for the fault proxies and the workload (default: 1)
  -h, --help              show this help (with --driver: that driver's scenarios)
  --version               print the version

Drivers:
${drivers.join('\n')}

Scenarios (${driver.name}): ${driver.scenarios.map((s) => s.name).join(', ')}

Exit codes: 0 done, 1 failed to run, 2 bad usage (a report path that cannot be written included),
130 interrupted (Ctrl-C).`;
}

const SYNOPSIS =
  'Usage: lifeline demo [--quick] [--driver <name>] [--url <url>] [--report <file>] [--json] [--scenario <a,b>] [--seed <n>]';

interface Parsed {
  driver: DemoDriver;
  quick: boolean;
  url: string | undefined;
  report: string;
  json: boolean;
  scenarios: string[] | undefined;
  seed: number;
}

const OPTIONS = {
  driver: { type: 'string', default: DEFAULT_DRIVER },
  quick: { type: 'boolean', default: false },
  url: { type: 'string' },
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

/** A driver that could not be loaded: its optional package is missing (exit 1, not a usage error). */
class DriverUnavailableError extends Error {}

async function loadDriver(name: string): Promise<DemoDriver> {
  let entry: ReturnType<typeof findDriver>;
  try {
    entry = findDriver(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  try {
    return await entry.load();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    throw new DriverUnavailableError(
      `the ${name} driver needs the package '${missing}', which is not installed. Install it (npm install ${missing}) or choose another --driver`,
      { cause: error },
    );
  }
}

/** The server URL given as --url or --database-url, checked by the driver (password hidden in errors). */
function serverUrl(
  driver: DemoDriver,
  values: { url?: string; 'database-url'?: string },
): string | undefined {
  if (values.url !== undefined && values['database-url'] !== undefined) {
    throw new UsageError('--url and --database-url name the same thing: give one of them');
  }
  const option = values.url !== undefined ? '--url' : '--database-url';
  const text = values.url ?? values['database-url'];
  if (text === undefined) return undefined;
  const problem = driver.checkUrl(text);
  if (problem !== undefined) throw new UsageError(`${option} ${problem}, got ${redact(text)}`);
  return text;
}

async function parse(argv: string[]): Promise<Parsed | { help: DemoDriver } | 'version'> {
  const { values, positionals } = options(argv);
  if (values.version) return 'version';
  const driver = await loadDriver(values.driver);
  if (values.help) return { help: driver };
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
  const scenarios = values.scenario
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    findScenarios(scenarios, driver.scenarios);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    driver,
    quick: values.quick,
    url: serverUrl(driver, values),
    report: values.report,
    json: values.json,
    scenarios,
    seed,
  };
}

/** Progress: one live line on a terminal, plain lines otherwise (logs, CI, pipes). */
function progressPrinter(
  stream: NodeJS.WriteStream,
  labels: DriverLabels,
): {
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
          const line = `  ${bar}  ${labels.naive} ${side(naive)}  │  ${labels.lifeline} ${side(lifeline)}`;
          clear();
          // One row only: a line that wraps could not be cleared in place.
          stream.write(line.slice(0, Math.max(20, (stream.columns ?? 120) - 1)));
          liveLine = true;
          break;
        }
        case 'scenario-done':
          clear();
          stream.write(`  ${story(event.result, labels)}\n`);
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
    const parsed = await parse(argv);
    if (parsed === 'version' || 'help' in parsed) {
      console.log(parsed === 'version' ? versionLine() : usage(parsed.help));
      return 0;
    }
    options = parsed;
    // Before the run, not after it: a report that cannot be written must not cost a minute of faults.
    reportPath = await checkReportPath(options.report);
  } catch (error) {
    if (error instanceof DriverUnavailableError) {
      console.error(`lifeline demo: ${error.message}`);
      return 1;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(usageFailure('lifeline demo', error.message, SYNOPSIS));
    return 2;
  }
  const { labels } = options.driver;

  const out = options.json ? process.stderr : process.stdout;
  const progress = progressPrinter(out, labels);
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
      driver: options.driver,
      quick: options.quick,
      url: options.url,
      scenarios: options.scenarios,
      seed: options.seed,
      signal: controller.signal,
      onProgress: progress.onProgress,
    });
  } catch (error) {
    progress.done();
    // A LifelineError is a failure the demo foresaw (a missing optional package): its message says it all.
    if (error instanceof LifelineError) {
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
  const table = renderTable(result.scenarios, labels);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    out.write(`\n${table}\n\n${overall(result.scenarios, labels)}\n`);
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
