// What a demo driver is: the part of `lifeline demo` that knows one kind of server and one pair of clients
// for it (pg: pg.Pool vs lifeline-net/pg). The runner, the fault proxies, the scenarios' fault scripts, the
// workload's timing, the metrics, the table and the report know none of that; they reach the server only
// through a driver. drivers/index.ts lists the drivers and says how to add one.

import type { Scenario } from './scenarios.js';

export type SideName = 'naive' | 'lifeline';

/** The names and sentences a driver gives the table, the report and the progress line. */
export interface DriverLabels {
  /** The plain client, as the table heads its column: 'pg.Pool'. */
  naive: string;
  /** lifeline's client: 'lifeline-net/pg'. */
  lifeline: string;
  /** The read workload for the report: 'indexed SELECTs'. */
  read: string;
  /** The write workload: 'INSERTs with unique ids'. */
  write: string;
  /**
   * How each side is set up, a paragraph of the report. HTML written in the driver's source (never input):
   * the report inserts it as it is.
   */
  setupHtml: string;
  /**
   * Figures of the driver's own, one value per side (the grid's log lines written): a row of the table and
   * of the report each, coloured like the shared figures. A side gives their values through `figures()`.
   */
  extraFigures?: readonly ExtraFigure[];
}

/** One figure a driver adds to the table and the report. */
export interface ExtraFigure {
  /** The key of its value in what `Side.figures()` returns. */
  key: string;
  /** Its header in the table and its row in the report: 'log lines'. */
  label: string;
  /** True when the side with the smaller value did better (log lines), false when the larger did. */
  lowerIsBetter: boolean;
}

/** What the application does with one side's client. `write` embodies the app's retry policy for it. */
export interface AppSide {
  /** Reads item `key` (1 to ITEMS, present on the server since start()). */
  read(key: number): Promise<void>;
  /** Writes `id`, unique within this side's scenario run, tagged so auditWrites can count it. */
  write(id: number): Promise<void>;
}

export interface Side {
  readonly name: SideName;
  readonly app: AppSide;
  /** The longest any op can take, when the side promises one (a deadline); undefined: no promise. */
  readonly maxOpMs: number | undefined;
  /** Ends the client. May hang on one stuck in a dead connection: the runner bounds it. */
  close(): Promise<void>;
  /** The values of the driver's extra figures (DriverLabels.extraFigures) by key, read after close(). */
  figures?(): Readonly<Record<string, number>>;
  /**
   * The side's connections now, for the report's pool charts: read by the runner every sampling interval
   * while the load runs. Sides without a pool or a connection count leave it out.
   */
  poolSample?(): PoolSample;
}

/** One reading of a side's connections (counts now; deaths and retries counted since the side started). */
export interface PoolSample {
  /** Connections lent out or in use (for a pool: busy and under a check). */
  used: number;
  /** Connections open and idle. */
  idle: number;
  /** Requests waiting for a connection. */
  pending: number;
  /** Connections that ended, by cause (an error code, or the pool's eviction reason), since the side started. */
  deaths: Readonly<Record<string, number>>;
  /** Attempts beyond the first (retries, alternates, hedges) since the side started. */
  retries: number;
}

export interface SideOptions {
  /** The fault proxy in front of the server: the side connects here, never to the server itself. */
  proxy: { host: string; port: number };
  /** This scenario's run id: the side tags its writes with it (and with its own name). */
  runId: string;
  /** Count one 'error' event the client emitted that only a listener kept from crashing the process. */
  onErrorEvent(): void;
  poolSize: number;
  /** Upper bound on one op, retries included (lifeline side). */
  queryDeadlineMs: number;
  /** Upper bound on one attempt of a read (lifeline side). */
  attemptDeadlineMs: number;
}

export interface WriteAudit {
  /** Acknowledged to the application, missing on the server. */
  lost: number;
  /** Present on the server more than once. */
  doubled: number;
}

/** A server the demo runs against, ready for the workload; what the driver started, it stops. */
export interface DemoTarget {
  /** What the run went against, for the report and the JSON (no password). */
  readonly description: string;
  /** The server's own address, `host:port`: the fault proxies forward to it. */
  readonly upstream: string;
  /** One side of a scenario, connected through `options.proxy`. */
  side(name: SideName, options: SideOptions): Side | Promise<Side>;
  /** Compares the ids the application saw acknowledged with what the server holds, on a direct connection. */
  auditWrites(runId: string, side: SideName, acknowledged: ReadonlySet<number>): Promise<WriteAudit>;
  /** After the last scenario: removes the writes of every scenario run starting with `runId` from a server the user gave. */
  cleanup(runId: string): Promise<void>;
  /** Stops what start() started (an embedded server); nothing for a server the user gave. Never rejects. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The server the user named (--url), already accepted by checkUrl; undefined: the driver's default. */
  url: string | undefined;
  /** A line for the user while starting ("starting embedded Postgres…"). */
  onProgress(message: string): void;
}

export interface DemoDriver {
  readonly name: string;
  readonly labels: DriverLabels;
  /** The scenarios this driver runs, in order: the shared ones that apply, and any of its own. */
  readonly scenarios: readonly Scenario[];
  /** The option's text for --help: 'postgres://user:pass@host:5432/db'. */
  readonly urlExample: string;
  /** What the driver runs against without --url, for --help: 'an embedded Postgres (PGlite)'. */
  readonly defaultTarget: string;
  /** Why `url` cannot name this driver's server ('must be a redis:// URL'), or undefined when it can. */
  checkUrl(url: string): string | undefined;
  /**
   * Starts the default server or reaches the one at `url`, and readies it (tables, items, a warm-up).
   * Rejects with an error whose message says what failed and what to do; stops whatever it started first.
   */
  start(options: StartOptions): Promise<DemoTarget>;
}

/** Codes that mean nothing answered at the address: the server is down, or the URL is wrong. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

/**
 * Why the demo cannot use the server `what` (already redacted), and what to do: for a driver's start() to
 * throw. `advice` is what to do ("Check that it is running and that --url is right, or …").
 */
export function serverProblem(what: string, error: unknown, advice: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const timedOut = /timeout/i.test(message);
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || timedOut) {
    return new Error(
      `the ${what} is unreachable (${timedOut ? 'no answer within 10 s' : code}: ${message}). ${advice}`,
      { cause: error },
    );
  }
  return new Error(`cannot use the ${what}: ${message.replace(/[.]$/, '')}. ${advice}`, { cause: error });
}

/** `url` with its host and port replaced by the fault proxy's: the same server, through the proxy. */
export function throughProxy(url: string, proxy: { host: string; port: number }): string {
  const through = new URL(url);
  through.hostname = proxy.host;
  through.port = String(proxy.port);
  return through.toString();
}

/** `host:port` of the server `url` names, `defaultPort` when it names none. */
export function upstreamOf(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPort}`;
}

/**
 * The common URL check: `schemes` (e.g. ['postgres:', 'postgresql:']), one host, a port from 1 to 65535.
 * Returns what is wrong, or undefined.
 */
export function checkServerUrl(text: string, schemes: readonly string[]): string | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(text)?.[0].toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme) || !text.slice(scheme.length).startsWith('//')) {
    return `must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL with one host and a port from 1 to 65535';
  }
  if (url.hostname === '') return 'must name a host';
  if (url.port === '0') return 'must have a port from 1 to 65535';
  return undefined;
}
