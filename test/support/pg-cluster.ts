import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private PostgreSQL cluster for tests that must stop, restart, fail over or promote a server:
 * its own data directory in a temp dir, its own free port on 127.0.0.1, trust auth, a `test` database.
 * The machine's shared server on 5432 is never touched. A standby is a real streaming replica
 * (pg_basebackup -R), so `pg_is_in_recovery()` and `transaction_read_only` are true on it.
 * Postgres refuses to run as root, so every server command runs as the `postgres` user. With `ssl`, the
 * server also accepts TLS, with a self-signed certificate for localhost/127.0.0.1 (`certificate`, the PEM to
 * trust as `ssl: { ca }`).
 */
export class PgCluster {
  readonly host = '127.0.0.1';
  private running = false;
  /** The server's self-signed certificate (PEM) when started with `ssl`. */
  certificate: string | undefined;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {
    live.add(this);
  }

  /** Why clusters cannot be made here, or undefined when they can. */
  static unsupported(): string | undefined {
    if (os.platform() !== 'linux') return 'PgCluster needs Linux';
    if (process.getuid?.() !== 0) return 'PgCluster needs root (to run postgres as the postgres user)';
    try {
      bin('initdb');
    } catch (error) {
      return (error as Error).message;
    }
    return undefined;
  }

  /** Starts a new primary, or a streaming standby of `standbyOf`; `ssl` turns TLS on. */
  static async start(options: { standbyOf?: PgCluster; ssl?: boolean } = {}): Promise<PgCluster> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-pg-'));
    chownToPostgres(dataDir);
    chmodSync(dataDir, 0o700);
    const port = await freePort();
    reservePort(port, true);
    const cluster = new PgCluster(port, dataDir);
    try {
      if (options.standbyOf) {
        baseBackup(options.standbyOf, dataDir);
      } else {
        asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
        appendFileSync(path.join(dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
      }
      // postgresql.auto.conf wins over postgresql.conf, and a standby inherits the primary's copy: write ours last.
      writeConf(dataDir, port, options.ssl === true);
      if (options.ssl) cluster.certificate = selfSignedCertificate(dataDir);
      cluster.start();
      if (!options.standbyOf) cluster.psql('create database test');
      return cluster;
    } catch (error) {
      cluster.destroy();
      throw error;
    }
  }

  /** `postgres://postgres@127.0.0.1:<port>/test` — trust auth, no password. */
  get url(): string {
    return `postgres://postgres@${this.host}:${this.port}/test`;
  }

  /** Starts (or restarts after `stop`) the server and waits until it accepts connections. */
  start(): void {
    const log = path.join(this.dataDir, 'server.log');
    try {
      asPostgres('pg_ctl', ['-D', this.dataDir, '-l', log, '-w', '-t', '60', 'start']);
    } catch (error) {
      // The server's own words say why (a port taken, a bad setting): the data dir goes with the test.
      let tail = '';
      try {
        tail = readFileSync(log, 'utf8').split('\n').slice(-8).join('\n');
      } catch {
        // no log written
      }
      throw new Error(`${(error as Error).message}\nserver.log:\n${tail}`, { cause: error });
    }
    this.running = true;
  }

  /** Stops the server; `immediate` is a crash-like stop (no checkpoint, clients get no goodbye). */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    if (!this.running) return;
    asPostgres('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /**
   * Stops this server and makes it a streaming standby of `primary` on its own port and data directory: the
   * directory emptied, a new base backup of `primary` (as one does after a switchover without pg_rewind), our
   * postgresql.conf written again, started. The data directory stays the same directory (its inode is the
   * server's SysV shared memory key; the old server removed its segment when it stopped).
   */
  rebuildAsStandbyOf(primary: PgCluster): void {
    this.stop('fast');
    for (const entry of readdirSync(this.dataDir)) {
      rmSync(path.join(this.dataDir, entry), { recursive: true, force: true });
    }
    baseBackup(primary, this.dataDir);
    const ssl = this.certificate !== undefined;
    writeConf(this.dataDir, this.port, ssl);
    // The backup brought the primary's key and certificate: this server gets its own again.
    if (ssl) this.certificate = selfSignedCertificate(this.dataDir);
    this.start();
  }

  /** Promotes a standby to primary and waits until it accepts writes. */
  promote(): void {
    asPostgres('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', 'promote']);
  }

  /** Runs SQL with psql against this cluster's `test` database (or `postgres` before it exists). */
  psql(sql: string): string {
    return asPostgres('psql', [
      '-h',
      this.host,
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-X',
      '-q',
      '-t',
      '-A',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ]).trim();
  }

  /** Stops the server and removes its data directory. Safe to call twice. */
  destroy(): void {
    try {
      this.stop('immediate');
    } catch {
      // Already gone: nothing to stop.
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    reservePort(this.port, false);
    live.delete(this);
  }
}

/** A streaming standby's data directory from `primary` (pg_basebackup -R: standby.signal and primary_conninfo). */
function baseBackup(primary: PgCluster, dataDir: string): void {
  asPostgres(
    'pg_basebackup',
    ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir].concat([
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ]),
  );
}

/**
 * The cluster's postgresql.conf. No Unix-domain socket (`unix_socket_directories = ''`; every client here uses
 * TCP, and pg_ctl -w reads readiness from postmaster.pid): with the socket in the data directory, its lock file
 * `.s.PGSQL.<port>.lock` (a regular file holding the postmaster's PID) was copied by pg_basebackup into each
 * standby, and from a promoted standby back into the rebuilt old primary, where the new postmaster found its own
 * port's lock file naming the old postmaster's PID. That PID is still "alive" for 1–2 s after `pg_ctl stop -w`
 * returns: on this machine PID 1 reaps orphans only every ~1.7 s (measured), and kill(pid, 0) succeeds on a
 * zombie. So "FATAL: lock file ... already exists" and "pg_ctl: could not start server" whenever stop, base
 * backup and start took less than that (the switchover test, now and then in the full suite; the same steps run
 * alone at load average 12-18 failed in 2 of 23 rounds, the lock file's PID shown as a zombie; 0 of 12 without it).
 */
function writeConf(dataDir: string, port: number, ssl: boolean): void {
  const conf = path.join(dataDir, 'postgresql.conf');
  writeFileSync(
    conf,
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'wal_level = replica',
      'max_wal_senders = 5',
      'hot_standby = on',
      'shared_buffers = 16MB',
      'max_connections = 50',
      "log_min_messages = 'warning'",
      ...(ssl ? ['ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"] : []),
    ].join('\n') + '\n',
  );
  chownToPostgres(conf);
}

/**
 * Writes server.key (mode 0600, owned by postgres: the server refuses a key others can read) and server.crt
 * into the data directory, and returns the certificate.
 */
function selfSignedCertificate(dataDir: string): string {
  const key = path.join(dataDir, 'server.key');
  const crt = path.join(dataDir, 'server.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      crt,
    ]),
    { stdio: 'ignore' },
  );
  for (const file of [key, crt]) chownToPostgres(file);
  chmodSync(key, 0o600);
  return readFileSync(crt, 'utf8');
}

const live = new Set<PgCluster>();
// A test that fails half-way must not leave servers running for the next run.
process.once('exit', () => {
  for (const cluster of live) cluster.destroy();
});

let binDir: string | undefined;
function bin(name: string): string {
  if (!binDir) {
    const root = '/usr/lib/postgresql';
    let versions: string[] = [];
    try {
      versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    } catch {
      // Not installed: reported below.
    }
    if (versions.length === 0) throw new Error(`PostgreSQL server binaries not found under ${root}`);
    binDir = path.join(root, versions[0]!, 'bin');
  }
  return path.join(binDir, name);
}

function asPostgres(program: string, args: string[]): string {
  try {
    return execFileSync('runuser', ['-u', 'postgres', '--', bin(program), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: os.tmpdir(),
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${program} ${args.join(' ')} failed: ${stderr.trim() || (error as Error).message}`, {
      cause: error,
    });
  }
}

let ids: { uid: number; gid: number } | undefined;
/** Gives `file` to the `postgres` user, which runs every server process here (they refuse to run as root). */
export function chownToPostgres(file: string): void {
  ids ??= {
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  };
  chownSync(file, ids.uid, ids.gid);
}

/**
 * Keeps a cluster's port out of the kernel's ephemeral range while the cluster lives (root only; a no-op
 * otherwise): a cluster stopped and started again on its port (failover, switchover tests) would otherwise fail
 * to bind when an outgoing connection of another test had been given that port as its local port meanwhile.
 */
function reservePort(port: number, reserve: boolean): void {
  const file = '/proc/sys/net/ipv4/ip_local_reserved_ports';
  const script = reserve
    ? `cur=$(cat ${file}); if [ -z "$cur" ]; then echo ${port}; else echo "$cur,${port}"; fi > ${file}`
    : `cat ${file} | tr ',' '\\n' | grep -vx '${port}' | paste -sd, - > /tmp/lifeline-ports.$$; cat /tmp/lifeline-ports.$$ > ${file}; rm -f /tmp/lifeline-ports.$$`;
  try {
    execFileSync('flock', ['/tmp/lifeline-reserved-ports.lock', 'sh', '-c', script], { stdio: 'ignore' });
  } catch {
    // Not root, or no flock: the rare bind race stays possible.
  }
}

/** A port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
