// The demo's drivers: `lifeline demo --driver <name>` replays the scenarios against the server and the pair
// of clients one of them knows (src/demo/driver.ts says what a driver is). `pg` is the default.
//
// Adding a driver (redis, mysql, http, …) takes one file and one line:
//   1. src/demo/drivers/<name>.ts exports a `DemoDriver` (see pg.ts for a complete one): its labels (the two
//      clients as the table names them, the workload in words, a paragraph on how each side is set up), its
//      scenarios (`SCENARIOS` from ../scenarios.js, filtered to those that apply, `baseline` always, plus
//      any of its own, each with a fault script over the same FaultControl and a name of its own), its
//      URL check (checkServerUrl in ../driver.js does the usual one), and start(): the default server
//      (embedded, or the machine's local one) or the one at --url, readied with ITEMS (../workload.js) items; it
//      returns a DemoTarget that makes the two sides (each connecting through the fault proxy it is given,
//      reads by key, writes by unique id tagged with the run id and side name, 'error' events counted with
//      onErrorEvent), audits writes on a direct connection (lost / doubled), cleans up and stops.
//   2. One line below: `<name>: { summary: '…', load: async () => (await import('./<name>.js')).<name>Driver },`
// The import stays dynamic: a driver's client library is loaded only when that driver runs, so a missing
// optional package fails only its own driver, with the package named.
// test/demo/drivers.test.ts runs every registered driver's baseline once (against its default server);
// a driver's own tests (test/demo/<name>.test.ts) run its other scenarios and assert what lifeline promises.

import type { DemoDriver } from '../driver.js';

export interface DriverEntry {
  /** One line for `lifeline demo --help`. */
  summary: string;
  load(): Promise<DemoDriver>;
}

export const DEFAULT_DRIVER = 'pg';

export const DRIVERS: Readonly<Record<string, DriverEntry>> = {
  pg: {
    summary: 'pg.Pool vs lifeline-net/pg (default: an embedded Postgres, PGlite)',
    load: async () => (await import('./pg.js')).pgDriver,
  },
  grid: {
    summary: 'a naive k-of-n client vs lifeline-net/peers on a storage grid of 10 HTTP peers (incident 2)',
    load: async () => (await import('./grid.js')).gridDriver,
  },
  redis: {
    summary: "ioredis vs lifeline-net/redis (default: the machine's Redis, redis://127.0.0.1:6379)",
    load: async () => (await import('./redis.js')).redisDriver,
  },
  mysql: {
    summary:
      "mysql2's pool vs lifeline-net/mysql (default: the machine's MariaDB/MySQL, mysql://root@127.0.0.1:3306/test)",
    load: async () => (await import('./mysql.js')).mysqlDriver,
  },
  http: {
    summary:
      "undici's Agent vs lifeline-net/http, with a keep-alive race scenario (an embedded node:http server)",
    load: async () => (await import('./http.js')).httpDriver,
  },
};

/** Error thrown by findDriver: the name is not one of DRIVERS. */
export class UnknownDriverError extends RangeError {}

/** The registry's entry for `name`; an unknown name is an error that lists the drivers there are. */
export function findDriver(name: string): DriverEntry {
  const entry = Object.hasOwn(DRIVERS, name) ? DRIVERS[name] : undefined;
  if (entry === undefined) {
    throw new UnknownDriverError(`unknown driver '${name}'; choose from ${Object.keys(DRIVERS).join(', ')}`);
  }
  return entry;
}
