import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chownToPostgres, freePort } from './pg-cluster.js';
import { missingTools, toolPath } from './tools.js';

export type PoolMode = 'session' | 'transaction';

export interface PgBouncerOptions {
  mode: PoolMode;
  upstream: { host: string; port: number; user: string; database: string };
  /** Server connections per user/database pair. Default 10. */
  poolSize?: number;
  /** Users allowed on the admin console (the `pgbouncer` database: SHOW POOLS, …). Default: none. */
  adminUsers?: string[];
}

/**
 * A private PgBouncer in front of a Postgres server, for tests: its own temp dir (config, auth_file,
 * socket dir), a free port on 127.0.0.1, auth_type trust, run as the `postgres` user (PgBouncer refuses to
 * run as root). `stop()` kills it; a process-exit hook kills any left behind.
 */
export class PgBouncer {
  private exited: Promise<void>;

  private constructor(
    readonly host: string,
    readonly port: number,
    readonly mode: PoolMode,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    live.add(this);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  /**
   * Why PgBouncer cannot run here although it is installed (not root), or undefined when it can. A missing
   * pgbouncer binary is reported by requireTools/toolSkip from tools.ts, which never fail the run.
   */
  static unsupported(): string | undefined {
    if (process.getuid?.() !== 0) return 'PgBouncer tests need root (to run pgbouncer as the postgres user)';
    return undefined;
  }

  static async start(options: PgBouncerOptions): Promise<PgBouncer> {
    const binary = toolPath('pgbouncer');
    if (binary === undefined) throw new Error(missingTools(['pgbouncer']));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-pgbouncer-'));
    const port = await freePort();
    const { upstream } = options;
    const ini = path.join(dir, 'pgbouncer.ini');
    writeFileSync(
      ini,
      [
        '[databases]',
        `${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        `unix_socket_dir = ${dir}`,
        'auth_type = trust',
        `auth_file = ${path.join(dir, 'users.txt')}`,
        `pool_mode = ${options.mode}`,
        `default_pool_size = ${options.poolSize ?? 10}`,
        'max_client_conn = 200',
        // Drivers send extra_float_digits and similar startup parameters; PgBouncer must not refuse them.
        'ignore_startup_parameters = extra_float_digits,options,statement_timeout',
        `logfile = ${path.join(dir, 'pgbouncer.log')}`,
        `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
        'server_reset_query = DISCARD ALL',
        ...(options.adminUsers ? [`admin_users = ${options.adminUsers.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'users.txt'), `"${upstream.user}" ""\n`);
    chownToPostgres(dir);
    for (const f of ['pgbouncer.ini', 'users.txt']) chownToPostgres(path.join(dir, f));

    const child = spawn('runuser', ['-u', 'postgres', '--', binary, ini], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: dir,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const bouncer = new PgBouncer('127.0.0.1', port, options.mode, dir, child);
    try {
      await waitForPort(port, child, () => stderr);
    } catch (error) {
      await bouncer.stop();
      throw error;
    }
    return bouncer;
  }

  /** Kills PgBouncer (SIGINT: immediate shutdown) and removes its directory. Safe to call twice. */
  async stop(): Promise<void> {
    // runuser does not forward signals to pgbouncer, so the signal goes to pgbouncer's own pid.
    const pid = this.pid();
    if (pid !== undefined) {
      signal(pid, 'SIGINT');
      const timer = setTimeout(() => signal(pid, 'SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** PgBouncer's own pid (from its pidfile), not runuser's. */
  private pid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.dir, 'pgbouncer.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Synchronous kill for the process-exit hook. */
  kill(): void {
    const pid = this.pid();
    if (pid !== undefined) signal(pid, 'SIGKILL');
    this.child.kill('SIGKILL');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

const live = new Set<PgBouncer>();
process.once('exit', () => {
  for (const b of live) b.kill();
});

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`pgbouncer did not listen on ${port}: ${stderr()}`);
}
