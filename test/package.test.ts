import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

// The built package must load through package.json "exports" from both module systems, since many apps
// that use pg are still CommonJS. `npm test` builds dist/ before running the suite.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, unknown>;
};
const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json');

for (const entry of entries) {
  const specifier = entry === '.' ? 'lifeline' : `lifeline/${entry.slice(2)}`;

  test(`${specifier} loads with require() and exposes the same names as import`, () => {
    const cjs = execFileSync(
      process.execPath,
      ['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`],
      { encoding: 'utf8' },
    );
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()))`,
      ],
      { encoding: 'utf8' },
    );
    const names = JSON.parse(cjs) as string[];
    assert.ok(names.length > 0, `${specifier} exports nothing`);
    assert.deepEqual(names, JSON.parse(esm));
  });
}
