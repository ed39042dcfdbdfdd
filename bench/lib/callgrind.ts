// Shared by the benchmarks, not one itself: bench/run.ts runs only the scripts directly in bench/.
// Instructions per operation under valgrind's callgrind, for the benchmarks' `--callgrind` modes: the script
// runs itself as a child (`--child …args ops`) twice, a short and a long series, and the difference divided by
// the difference in operations leaves out startup and compilation. Callgrind counts user-space instructions, not
// seconds, so a loaded machine does not move the figure (it only takes longer).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CallgrindRun {
  /** The benchmark script to run as the child (usually `fileURLToPath(import.meta.url)`). */
  script: string;
  /** Arguments after `--child`; the operation count is appended. */
  args: string[];
  short: number;
  long: number;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** Instructions of one child process running `ops` operations. */
function instructions(run: CallgrindRun, ops: number): number {
  const tag = [path.basename(run.script, '.ts'), process.pid, ...run.args, ops].join('-');
  const out = path.join(os.tmpdir(), `lifeline-callgrind-${tag}`);
  try {
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${out}`,
        process.execPath,
        '--predictable',
        '--import',
        'tsx',
        run.script,
        '--child',
        ...run.args,
        String(ops),
      ],
      { stdio: 'ignore', timeout: run.timeoutMs, env: run.env ?? process.env },
    );
    const summary = /^summary:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
    if (summary === null) throw new Error(`no summary in ${out}`);
    return Number(summary[1]);
  } finally {
    rmSync(out, { force: true });
  }
}

/** Instructions per operation: (long series − short series) / (long − short). */
export function callgrindPerOp(run: CallgrindRun): number {
  return (instructions(run, run.long) - instructions(run, run.short)) / (run.long - run.short);
}
