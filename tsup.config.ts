import { defineConfig } from 'tsup';

// One entry per public entry point; package.json "exports" mirrors this list.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    faults: 'src/faults/index.ts',
    'cli/main': 'src/cli/main.ts',
    pg: 'src/adapters/pg/index.ts',
    redis: 'src/adapters/redis/index.ts',
    mysql: 'src/adapters/mysql/index.ts',
    'mysql-promise': 'src/adapters/mysql/promise.ts',
    http: 'src/adapters/http/index.ts',
    ws: 'src/adapters/ws/index.ts',
    peers: 'src/peers/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Shared code goes to chunks, so `lifeline` and `lifeline-net/pg` share one copy of each class (an error
  // from lifeline-net/pg is `instanceof` the same class exported by `lifeline`), and a dynamic import()
  // stays a separate chunk: the CLI loads pg only for `demo`, prom-client only on the first scrape.
  splitting: true,
  // Nothing from node_modules is bundled: dependencies, peers (pg, PGlite) and optional ones
  // (net-keepalive) are resolved from the user's install. test/package.test.ts checks each bare import
  // in dist/ is a Node built-in or declared in package.json.
  skipNodeModulesBundle: true,
  shims: true,
});
