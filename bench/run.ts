// Runs every benchmark in bench/ (each a standalone script printing a Markdown table) one after another,
// each in its own process so one cannot warm or pollute the next. `npm run bench -- pool` runs only pool.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = new Set(process.argv.slice(2));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .filter((name) => only.size === 0 || only.has(name))
  .sort();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `# lifeline benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu}, ${os.cpus().length} cores\n`,
);

let failed = 0;
for (const name of scripts) {
  console.log(`## ${name}\n`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${dir}${name}.ts`], {
    stdio: 'inherit',
    timeout: 10 * 60_000,
  });
  if (run.status !== 0) {
    failed++;
    console.log(`\n(bench/${name}.ts exited with ${run.status ?? run.signal})\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
