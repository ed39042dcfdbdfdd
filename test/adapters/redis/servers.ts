/**
 * Real Redis topologies started by the tests themselves: a 3-master Redis Cluster and a Sentinel monitoring its
 * own master, each server a child process of the test on ports the kernel handed out (bound on port 0 and
 * released), with throwaway config files. `stop()` kills exactly the processes started here.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis as PlainRedis } from 'ioredis';
import { sleep } from './support.js';

const run = promisify(execFile);

/** A port the kernel picked (listen on 0, then close): free the moment it is returned. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether redis-server and redis-cli are on this machine. */
export async function haveRedisBinaries(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

interface Server {
  port: number;
  child: ChildProcess;
}

/** Starts redis-server with `args`; resolves once it answers PING (bounded: 100 tries). */
async function startServer(port: number, args: string[]): Promise<Server> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'ping']);
      if (stdout.trim() === 'PONG') return { port, child };
    } catch {}
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server ${args.join(' ')} did not start`);
}

async function stopServers(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface ClusterLab {
  /** The masters' ports, as the cluster announces them (127.0.0.1). */
  ports: number[];
  stop(): Promise<void>;
}

/** Three masters, no replicas, every slot assigned, state ok on each node. */
export async function startCluster(masters = 3): Promise<ClusterLab> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-redis-cluster-'));
  const servers: Server[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      servers.push(
        await startServer(port, [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--dir',
          dir,
        ]),
      );
    }
    const ports = servers.map((s) => s.port);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      for (let attempt = 0; ; attempt++) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (attempt > 200) throw new Error(`cluster node ${port} never reached state ok`);
        await sleep(50);
      }
    }
    return {
      ports,
      stop: async () => {
        await stopServers(servers);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopServers(servers);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface SentinelLab {
  masterPort: number;
  sentinelPort: number;
  name: string;
  stop(): Promise<void>;
}

/** A redis-server and a Sentinel (quorum 1) monitoring it as `mymaster`. */
export async function startSentinel(): Promise<SentinelLab> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-redis-sentinel-'));
  const servers: Server[] = [];
  const name = 'mymaster';
  try {
    const masterPort = await freePort();
    servers.push(
      await startServer(masterPort, [
        '--port',
        String(masterPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ]),
    );
    const sentinelPort = await freePort();
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 60000`,
        '',
      ].join('\n'),
    );
    servers.push(await startServer(sentinelPort, [config, '--sentinel']));
    const probe = new PlainRedis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true });
    try {
      await probe.connect();
      for (let attempt = 0; ; attempt++) {
        const addr = (await probe.call('sentinel', 'get-master-addr-by-name', name)) as string[] | null;
        if (addr?.[1] === String(masterPort)) break;
        if (attempt > 200) throw new Error('the sentinel never reported its master');
        await sleep(50);
      }
    } finally {
      probe.disconnect();
    }
    return {
      masterPort,
      sentinelPort,
      name,
      stop: async () => {
        await stopServers(servers);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopServers(servers);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
