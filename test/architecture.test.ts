// Keeps the layout docs/architecture.md describes: reads every import of src/ (import, export … from,
// dynamic import()) and fails on one against the layering, and on a file past 400 lines that does not say
// at its top why.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');

// core ← socket, pool, exec ← protocols ← observe ← adapters, peers ← demo, cli; faults beside them all.
// A layer imports its own folder and the layers it lists (and Node built-ins and packages, not checked here).
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  core: [],
  socket: ['core'],
  pool: ['core'],
  exec: ['core'],
  faults: ['core'],
  protocols: ['core', 'socket', 'pool', 'exec'],
  observe: ['core', 'socket', 'pool', 'exec', 'protocols'],
  adapters: ['core', 'socket', 'pool', 'exec', 'protocols', 'observe'],
  peers: ['core', 'socket', 'pool', 'exec', 'protocols', 'observe'],
  demo: ['core', 'socket', 'pool', 'exec', 'protocols', 'observe', 'adapters', 'peers', 'faults'],
  cli: ['core', 'socket', 'pool', 'exec', 'protocols', 'observe', 'adapters', 'peers', 'faults', 'demo'],
  // src/index.ts, the `lifeline-net` entry point: core, socket, pool, exec, protocols and observe.
  '.': ['core', 'socket', 'pool', 'exec', 'protocols', 'observe'],
};
const MAX_LINES = 400;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The top folder of src/ a file is in ('.' for a file directly in src/). */
function layerOf(file: string): string {
  const parts = relative(src, file).split(sep);
  return parts.length === 1 ? '.' : (parts[0] ?? '.');
}

/** Every module specifier `text` imports or re-exports, statically or with import(). */
export function specifiers(text: string): string[] {
  // Comments would let an example in a doc comment count as an import.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) if (match[1] !== undefined) found.push(match[1]);
  }
  return found;
}

/** What is wrong with `file` importing `specifier`, or undefined when the layering allows it. */
function violation(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const from = layerOf(file);
  const target = resolve(dirname(file), specifier);
  if (!target.startsWith(src + sep)) return `${relative(root, file)} imports ${specifier}, outside src/`;
  const to = layerOf(target);
  if (to === from || MAY_IMPORT[from]?.includes(to) === true) return undefined;
  return `${relative(root, file)} (${from}) imports ${specifier} (${to})`;
}

const files = sourceFiles(src);

test('the layering check refuses an upward or sideways import and allows a downward one', () => {
  const at = (path: string) => join(src, path);
  assert.match(violation(at('exec/plan.ts'), '../socket/index.js') ?? '', /\(exec\) imports .*\(socket\)/);
  assert.match(violation(at('exec/plan.ts'), '../protocols/postgres.js') ?? '', /\(protocols\)/);
  assert.match(violation(at('faults/proxy.ts'), '../exec/index.js') ?? '', /\(faults\) imports/);
  assert.match(violation(at('core/time.ts'), '../pool/index.js') ?? '', /\(core\) imports/);
  assert.match(violation(at('adapters/pg/pool.ts'), '../../demo/runner.js') ?? '', /\(demo\)/);
  assert.match(violation(at('adapters/pg/pool.ts'), '../../faults/index.js') ?? '', /\(faults\)/);
  assert.equal(violation(at('adapters/pg/pool.ts'), '../../socket/index.js'), undefined);
  assert.equal(violation(at('protocols/postgres.ts'), '../exec/classify/classification.js'), undefined);
  assert.equal(violation(at('cli/demo.ts'), '../faults/index.js'), undefined);
  assert.equal(violation(at('exec/plan.ts'), './hosts.js'), undefined);
  assert.equal(violation(at('exec/plan.ts'), 'node:events'), undefined);
});

test('the import reader sees static, re-exported, type-only, side-effect and dynamic imports, not comments', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/index.js';",
    'import {\n  c,\n  type D,\n} from "../c.js";',
    "export * from './e.js';",
    "export { f } from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "// import { x } from '../x.js';",
    "/** e.g. import { y } from 'lifeline-net'; */",
  ].join('\n');
  assert.deepEqual(specifiers(text).sort(), [
    '../b/index.js',
    '../c.js',
    './a.js',
    './e.js',
    './f.js',
    './g.js',
    './h.js',
  ]);
});

test('every module imports only its own layer and the layers below it (docs/architecture.md)', () => {
  assert.ok(files.length > 50, `found only ${files.length} files under src/`);
  const wrong: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (MAY_IMPORT[from] === undefined) {
      wrong.push(`${relative(root, file)}: src/${from}/ is not a layer docs/architecture.md names`);
    }
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      const problem = violation(file, specifier);
      if (problem !== undefined) wrong.push(problem);
    }
  }
  assert.deepEqual(wrong, []);
});

test(`no file over ${MAX_LINES} lines without a comment in its first 5 lines saying why`, () => {
  const unexplained: string[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.length <= MAX_LINES) continue;
    const top = lines.slice(0, 5).filter((line) => /^\s*(\/\/|\/\*|\*)/.test(line));
    if (!top.some((line) => /\b400 lines\b/.test(line))) {
      unexplained.push(`${relative(root, file)} (${lines.length} lines)`);
    }
  }
  assert.deepEqual(unexplained, []);
});

test('every module says what it is for in its first lines', () => {
  const silent = files.filter((file) => {
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, 5);
    return !lines.some((line) => /^\s*(\/\/|\/\*\*?|\*)\s*\S/.test(line));
  });
  assert.deepEqual(
    silent.map((file) => relative(root, file)),
    [],
  );
});
