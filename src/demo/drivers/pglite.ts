// The demo's default database: PGlite (Postgres compiled to WebAssembly) served over a real TCP
// socket by @electric-sql/pglite-socket, so unmodified `pg` clients connect to it and a fault proxy
// can sit between them.
//
// What pglite-socket is, measured (0.2.17): one Postgres session behind a multiplexer. Its default
// `maxConnections` is 1 (a second client is told "Too many connections" and dropped), so we raise it.
// With more, every protocol message from every connection goes through one global queue and runs
// alone; a connection inside an open transaction gets the database to itself until it commits. So:
// connections are concurrent, execution is serial (≈2–3k simple queries/s here), session state is
// shared by all, CancelRequest is accepted and ignored, and a client that vanishes inside a
// transaction blocks everyone until its socket closes. The demo's workloads are single statements in
// autocommit for that reason. Both packages are optional peer dependencies: loaded only here.

import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite as PGliteType } from '@electric-sql/pglite';
import { LifelineError } from '../../core/errors.js';

export interface EmbeddedPostgres {
  readonly host: string;
  readonly port: number;
  /** A connection string for any Postgres client. PGlite accepts any user and password. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Concurrent client connections the multiplexer accepts (pglite-socket's default is 1). */
  maxConnections?: number;
}

/** @electric-sql/pglite or @electric-sql/pglite-socket is not installed. */
export class EmbeddedPostgresUnavailableError extends LifelineError {
  constructor(cause: unknown) {
    super(
      'LIFELINE_DEMO_NO_PGLITE',
      'the embedded Postgres needs the optional packages @electric-sql/pglite and @electric-sql/pglite-socket, ' +
        'which are not installed. Install them (npm i -D @electric-sql/pglite @electric-sql/pglite-socket) or point ' +
        'the demo at a server you have: lifeline demo --database-url postgres://user:pass@host:5432/db',
      { cause },
    );
  }
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * A fresh PGlite runs initdb: 5–7 s. Loading a dump of a fresh data directory takes about 1 s, so the
 * first run keeps one (gzip, ≈4.5 MB) in the OS temp directory, keyed by the installed PGlite build.
 */
async function cacheFile(): Promise<string | undefined> {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const info = await stat(entry);
    return join(tmpdir(), `lifeline-demo-pglite-${info.size}-${Math.round(info.mtimeMs)}.tar.gz`);
  } catch {
    return undefined;
  }
}

async function createDatabase(PGlite: typeof PGliteType): Promise<PGliteType> {
  const file = await cacheFile();
  if (file !== undefined) {
    try {
      const bytes = await readFile(file);
      return await PGlite.create({ loadDataDir: new Blob([bytes]) });
    } catch {
      // No cache yet, or one this build can't load: fall through to a fresh database.
    }
  }
  const db = await PGlite.create();
  if (file !== undefined) {
    // Written aside and renamed, so a concurrent run never reads half a file.
    const partial = `${file}.${randomUUID()}`;
    try {
      const dump = await db.dumpDataDir('gzip');
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, file);
    } catch {
      await unlink(partial).catch(() => {});
    }
  }
  return db;
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const maxConnections = options.maxConnections ?? 64;
  let modules: [typeof import('@electric-sql/pglite'), typeof import('@electric-sql/pglite-socket')];
  try {
    modules = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  } catch (error) {
    if (isModuleNotFound(error)) throw new EmbeddedPostgresUnavailableError(error);
    throw error;
  }
  const [{ PGlite }, { PGLiteSocketServer }] = modules;
  const db = await createDatabase(PGlite);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // getServerConn() is "host:port" once listening on a TCP port.
  const port = Number(server.getServerConn().split(':').pop());
  const host = '127.0.0.1';
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    stop() {
      stopping ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
