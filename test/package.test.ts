import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The built package as a user gets it: package.json "exports", the bundles in dist/ and the bin. Many
// apps that use pg are still CommonJS, so both module systems are checked. `npm test` builds dist/
// before running the suite; the tarball install itself (npm pack + npm install) is checked by hand.
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');

type Conditions = { import: { types: string; default: string }; require: { types: string; default: string } };
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  module: string;
  types: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, Conditions | string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const entries = Object.keys(pkg.exports).filter((k) => k !== './package.json');
const specifierOf = (entry: string): string =>
  entry === '.' ? 'lifeline-net' : `lifeline-net/${entry.slice(2)}`;

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The npm packages a Node process has loaded by the time it exits. pg and prom-client are CommonJS,
 * and Node's ESM loader puts CommonJS modules in require.cache too, so one preload sees both paths.
 */
function loadedPackages(args: string[]): { status: number | null; stdout: string; packages: string[] } {
  const hook = String.raw`import { createRequire } from 'node:module';
const cache = createRequire(${JSON.stringify(pathToFileURL(join(root, 'package.json')).href)}).cache;
process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(cache)) {
    const parts = file.split(/[\\/]node_modules[\\/]/);
    if (parts.length < 2) continue;
    const [scope, name] = parts[parts.length - 1].split(/[\\/]/);
    names.add(scope.startsWith('@') ? scope + '/' + name : scope);
  }
  process.stderr.write('\nLOADED ' + JSON.stringify([...names].sort()) + '\n');
});`;
  const result = node(['--import', `data:text/javascript,${encodeURIComponent(hook)}`, ...args]);
  const line = /LOADED (.*)\n/.exec(result.stderr);
  assert.ok(line?.[1], `the preload did not report (exit ${result.status}):\n${result.stderr}`);
  return { status: result.status, stdout: result.stdout, packages: JSON.parse(line[1]) as string[] };
}

const esm = (code: string): string[] => ['--input-type=module', '-e', code];

test('main, module and types are the "." export, and every export condition names a built file', () => {
  const dot = pkg.exports['.'] as Conditions;
  assert.equal(pkg.main, dot.require.default);
  assert.equal(pkg.module, dot.import.default);
  assert.equal(pkg.types, dot.import.types);
  for (const entry of entries) {
    const conditions = pkg.exports[entry] as Conditions;
    for (const file of [
      conditions.import.types,
      conditions.import.default,
      conditions.require.types,
      conditions.require.default,
    ]) {
      assert.ok(existsSync(join(root, file)), `${entry}: ${file} is missing`);
      assert.ok(
        pkg.files.some((f) => file.startsWith(`./${f}/`)),
        `${file} is outside package.json "files"`,
      );
    }
  }
});

for (const entry of entries) {
  const specifier = specifierOf(entry);
  const conditions = pkg.exports[entry] as Conditions;

  test(`${specifier} resolves to its "require" file for require() and its "import" file for import`, () => {
    const required = execFileSync(
      process.execPath,
      ['-e', `console.log(require.resolve(${JSON.stringify(specifier)}))`],
      { cwd: root, encoding: 'utf8' },
    ).trim();
    assert.equal(required, join(root, conditions.require.default));
    const imported = execFileSync(
      process.execPath,
      esm(`console.log(import.meta.resolve(${JSON.stringify(specifier)}))`),
      { cwd: root, encoding: 'utf8' },
    ).trim();
    assert.equal(imported, pathToFileURL(join(root, conditions.import.default)).href);
  });

  test(`${specifier} loads with require() and exposes the same names as import`, () => {
    const cjs = execFileSync(
      process.execPath,
      ['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`],
      { cwd: root, encoding: 'utf8' },
    );
    const mjs = execFileSync(
      process.execPath,
      esm(
        `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()))`,
      ),
      { cwd: root, encoding: 'utf8' },
    );
    const names = JSON.parse(cjs) as string[];
    assert.ok(names.length > 0, `${specifier} exports nothing`);
    assert.deepEqual(names, JSON.parse(mjs));
  });
}

test('entry points share one copy of each class (an error from lifeline-net/pg is instanceof the one from lifeline)', () => {
  const check = `a.OutcomeUnknownError === b.OutcomeUnknownError && a.AcquireTimeoutError === b.AcquireTimeoutError`;
  const cjs = node([
    '-e',
    `const a = require('lifeline-net'), b = require('lifeline-net/pg'); console.log(${check})`,
  ]);
  assert.equal(cjs.stdout.trim(), 'true', cjs.stderr);
  const mjs = node(
    esm(`const a = await import('lifeline-net'), b = await import('lifeline-net/pg'); console.log(${check})`),
  );
  assert.equal(mjs.stdout.trim(), 'true', mjs.stderr);
});

/** Bare specifiers each built file imports or requires: `pg`, `node:net`, `prom-client`, ... */
function bareImports(): Map<string, Set<string>> {
  const byFile = new Map<string, Set<string>>();
  const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => /\.c?js$/.test(f));
  assert.ok(files.length > 0, 'dist/ is empty: run tsup first');
  for (const file of files) {
    const text = readFileSync(join(dist, file), 'utf8');
    const specifiers = new Set<string>();
    for (const m of text.matchAll(
      // A specifier has no whitespace: `came from"` closing a message string is not an import.
      /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'./\s][^"'\s]*)["']/g,
    )) {
      if (m[1]) specifiers.add(m[1]);
    }
    byFile.set(file, specifiers);
  }
  return byFile;
}

const packageName = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

test('dist bundles no npm package: every bare import is a Node built-in or declared in package.json', () => {
  const declared = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ]);
  const builtins = new Set(builtinModules);
  for (const [file, specifiers] of bareImports()) {
    for (const specifier of specifiers) {
      const name = packageName(specifier.replace(/^node:/, ''));
      assert.ok(
        builtins.has(name) || declared.has(name) || specifier.startsWith('node:'),
        `dist/${file} imports "${specifier}", which package.json does not declare`,
      );
    }
    // esbuild marks each module it inlines with a "// <path>" comment; tsup's own shims may be inlined.
    assert.doesNotMatch(
      readFileSync(join(dist, file), 'utf8'),
      /^\/\/ \S*node_modules\/(?!tsup\/assets\/)/m,
      `dist/${file} inlines a package`,
    );
  }
});

for (const name of ['pg', 'prom-client', '@electric-sql/pglite', '@electric-sql/pglite-socket']) {
  test(`both builds import ${name} from node_modules instead of inlining it`, () => {
    const importers = [...bareImports()].filter(([, s]) => s.has(name)).map(([file]) => file);
    assert.ok(
      importers.some((f) => f.endsWith('.js')),
      `no ESM file imports ${name}`,
    );
    assert.ok(
      importers.some((f) => f.endsWith('.cjs')),
      `no CommonJS file requires ${name}`,
    );
  });
}

test('lifeline-net and lifeline-net/faults load neither pg nor prom-client; lifeline-net/pg loads pg', () => {
  for (const specifier of ['lifeline-net', 'lifeline-net/faults']) {
    const cjs = loadedPackages(['-e', `require(${JSON.stringify(specifier)})`]);
    const mjs = loadedPackages(esm(`await import(${JSON.stringify(specifier)})`));
    for (const { packages } of [cjs, mjs]) {
      assert.ok(!packages.includes('pg'), `${specifier} loaded pg: ${packages}`);
      assert.ok(!packages.includes('prom-client'), `${specifier} loaded prom-client: ${packages}`);
    }
  }
  // The detection itself works: the entry that needs pg is seen loading it.
  assert.ok(loadedPackages(['-e', `require('lifeline-net/pg')`]).packages.includes('pg'));
  assert.ok(loadedPackages(esm(`await import('lifeline-net/pg')`)).packages.includes('pg'));
});

test('the control server loads prom-client on the first GET /metrics, from node_modules', () => {
  const { stdout, packages } = loadedPackages(
    esm(`import { ControlServer } from 'lifeline-net/faults';
const server = new ControlServer({ port: 0, log: () => {} });
const { port } = await server.start();
const response = await fetch('http://127.0.0.1:' + port + '/metrics');
console.log(response.status, (await response.text()).includes('lifeline_proxy_connections_total'));
await server.stop();`),
  );
  assert.equal(stdout.trim(), '200 true');
  assert.ok(packages.includes('prom-client'), `prom-client not loaded from node_modules: ${packages}`);
});

const bin = join(root, pkg.bin.lifeline ?? '');

test('the bin is built, executable, and starts with a node shebang', () => {
  assert.deepEqual(Object.keys(pkg.bin), ['lifeline']);
  assert.ok(pkg.files.some((f) => pkg.bin.lifeline?.startsWith(`./${f}/`)));
  accessSync(bin, constants.X_OK);
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('lifeline --help exits 0 and lists the commands', () => {
  const { status, stdout } = node([bin, '--help']);
  assert.equal(status, 0);
  assert.match(stdout, /^Usage: lifeline <command>/);
  assert.match(stdout, /\bproxy\b[\s\S]*\bdemo\b/);
});

test('lifeline with an unknown command exits 2 and names it', () => {
  const { status, stdout, stderr } = node([bin, 'frobnicate']);
  assert.equal(status, 2);
  assert.equal(stdout, '');
  // The error and one line of usage, not the whole help.
  assert.equal(
    stderr,
    "lifeline: unknown command 'frobnicate'\nUsage: lifeline <proxy|demo|check> [options] (`lifeline --help` for more)\n",
  );
});

test('lifeline with no command says so with one line of usage on stderr and exits 2', () => {
  const { status, stdout, stderr } = node([bin]);
  assert.equal(status, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /^lifeline: no command given\nUsage: lifeline <proxy\|demo\|check> \[options\]/);
  assert.equal(stderr.trimEnd().split('\n').length, 2);
});

test('lifeline proxy --help exits 0 without loading pg, PGlite or prom-client', () => {
  const { status, stdout, packages } = loadedPackages([bin, 'proxy', '--help']);
  assert.equal(status, 0);
  assert.match(stdout, /^Usage: lifeline proxy <command>/);
  assert.deepEqual(
    packages.filter((p) =>
      ['pg', 'prom-client', '@electric-sql/pglite', '@electric-sql/pglite-socket'].includes(p),
    ),
    [],
  );
});

test('lifeline-net/package.json is exported, for tools that read the version', () => {
  const required = createRequire(import.meta.url)('lifeline-net/package.json') as { name: string };
  assert.equal(required.name, 'lifeline-net');
});

test('the CommonJS types (.d.cts) compile for a consumer without esModuleInterop', async () => {
  // `import net from 'node:net'` in a declaration needs esModuleInterop (or allowSyntheticDefaultImports);
  // a CommonJS project without it must still be able to use every entry point's types.
  const { default: ts } = await import('typescript');
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-cjs-consumer-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'lifeline-net'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
    const lines = entries.map((entry, i) => `import * as m${i} from ${JSON.stringify(specifierOf(entry))};`);
    lines.push(`export const all = [${entries.map((_, i) => `m${i}`).join(', ')}];`);
    lines.push('export type Socket = m0.LiveSocket["socket"];');
    writeFileSync(join(dir, 'index.ts'), `${lines.join('\n')}\n`);
    const program = ts.createProgram([join(dir, 'index.ts')], {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: false,
      allowSyntheticDefaultImports: false,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
    });
    const files = program.getSourceFiles().map((f) => f.fileName);
    assert.ok(
      files.some((f) => f.endsWith('/dist/index.d.cts')),
      'the consumer did not resolve lifeline-net to dist/index.d.cts',
    );
    // Errors inside other packages' declarations (e.g. @redis/client's own default imports) are theirs.
    const ours = ts
      .getPreEmitDiagnostics(program)
      .filter(
        (d) => d.file === undefined || d.file.fileName.startsWith(dist) || d.file.fileName.startsWith(dir),
      );
    assert.deepEqual(
      ours.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
