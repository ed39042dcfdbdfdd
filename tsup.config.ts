import { defineConfig } from 'tsup';

// One entry per public entry point; package.json "exports" mirrors this list.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    faults: 'src/faults/index.ts',
    'cli/main': 'src/cli/main.ts',
    pg: 'src/adapters/pg/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  shims: true,
});
