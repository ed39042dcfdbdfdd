// `lifeline check redis://…`: CLIENT LIST grouped (name, address, state: subscriber, blocked, in MULTI,
// idle, active), connections inside an unfinished MULTI, the settings that cut or keep connections (timeout,
// tcp-keepalive, maxclients) and what to do about them. Uses ioredis, loaded here only, with no retries,
// no offline queue and every command bounded by the check's timeout.

import { loadDriver, unreachable } from './load.js';
import {
  type Advice,
  busyFinding,
  type ConnectionLimit,
  count,
  duration,
  type Finding,
  type Gathered,
  groupConnections,
  hostOf,
  human,
  type IdleTransaction,
  integer,
  type Setting,
} from './types.js';

const UNITS: Record<string, string> = { timeout: 's', 'tcp-keepalive': 's', maxclients: '' };

export async function checkRedis(url: string, shown: string, timeoutMs: number): Promise<Gathered> {
  const { Redis } = await loadDriver('redis', () => import('ioredis'));
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectionName: 'lifeline-check',
  });
  // Failures reach the awaited calls; the 'error' event must not crash the process. Its error says why a
  // connect failed (ECONNREFUSED…), where connect() itself only rejects with "Connection is closed.".
  let cause: unknown;
  redis.on('error', (error: unknown) => {
    cause ??= error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw unreachable(shown, cause ?? error);
  }
  const findings: Finding[] = [];
  try {
    const info = String(await redis.call('INFO', 'server'));
    const clients = String(await redis.call('INFO', 'clients'));
    const settings: Record<string, Setting> = {};
    for (const [name, unit] of Object.entries(UNITS)) {
      try {
        const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
        const value = reply[1];
        if (value !== undefined) settings[name] = unit ? duration(value, unit) : count(value);
      } catch (error) {
        findings.push({
          level: 'info',
          code: 'redis.config-hidden',
          message: `CONFIG GET ${name} is refused (${(error as Error).message.split('\n')[0]}): the setting is unknown (managed services often rename CONFIG)`,
        });
      }
    }
    let list: string | undefined;
    try {
      list = String(await redis.call('CLIENT', 'LIST'));
    } catch (error) {
      findings.push({
        level: 'info',
        code: 'redis.client-list-hidden',
        message: `CLIENT LIST is refused (${(error as Error).message.split('\n')[0]}): the server's connections cannot be shown`,
      });
    }
    const version = /^redis_version:(.*)$/m.exec(info)?.[1]?.trim() ?? '';
    const connected = integer(/^connected_clients:(\d+)/m.exec(clients)?.[1]) ?? 0;
    return judge(version, settings, list, connected, findings);
  } catch (error) {
    throw unreachable(shown, error);
  } finally {
    redis.disconnect();
  }
}

/** One CLIENT LIST line as key → value. */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of line.trim().split(' ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function stateOf(c: Record<string, string>): string {
  if (['sub', 'psub', 'ssub'].some((k) => Number(c[k] ?? 0) > 0)) return 'subscriber';
  if ((c.flags ?? '').includes('b')) return 'blocked';
  if ((c.flags ?? '').includes('S') || (c.flags ?? '').includes('M')) return 'replication';
  if ((c.multi ?? '-1') !== '-1') return 'in MULTI';
  return Number(c.idle ?? 0) > 0 ? 'idle' : 'active';
}

function judge(
  version: string,
  settings: Record<string, Setting>,
  list: string | undefined,
  connected: number,
  findings: Finding[],
): Gathered {
  const advice: Advice[] = [];
  const clients = (list ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(fields);
  const connections = clients.map((c) => ({
    application: c.name ?? '',
    user: c.user ?? '',
    address: hostOf(c.addr ?? ''),
    state: stateOf(c),
    ageSeconds: Number(c.age ?? 0),
  }));
  const idleInTransaction: IdleTransaction[] = clients
    .filter((c) => (c.multi ?? '-1') !== '-1' && Number(c.idle ?? 0) > 0)
    .map((c) => ({
      id: c.id ?? '',
      application: c.name ?? '',
      user: c.user ?? '',
      address: hostOf(c.addr ?? ''),
      transactionSeconds: undefined,
      idleSeconds: Number(c.idle ?? 0),
    }));
  const max = settings.maxclients?.count ?? 0;
  const limit: ConnectionLimit | undefined =
    max > 0 ? { setting: 'maxclients', max, reserved: 0, available: max } : undefined;

  if (idleInTransaction.length > 0) {
    findings.push({
      level: 'warn',
      code: 'redis.idle-in-multi',
      message: `${idleInTransaction.length} connection(s) sit idle inside MULTI (longest ${Math.max(...idleInTransaction.map((t) => t.idleSeconds))} s): their queued commands wait for an EXEC that may never come`,
    });
  }
  const idleCut = settings.timeout?.ms ?? 0;
  if (idleCut > 0) {
    findings.push({
      level: 'warn',
      code: 'redis.timeout',
      message: `Redis closes clients idle longer than ${human(idleCut)} (timeout; subscribers and blocked clients excepted): every idle ioredis or node-redis connection is cut and reconnected, and a command sent as the cut lands fails`,
    });
    advice.push({
      option: 'redis: timeout',
      value: '0',
      because: `no lifeline option keeps a connection past timeout: TCP keepalive (lifeline.socket.keepaliveIdleMs) does not count as activity. lifeline-net/redis sees the close at once (onConnectionEnd: peer-fin); otherwise send a command more often than every ${human(idleCut)}`,
    });
  }
  const keep = settings['tcp-keepalive']?.ms;
  if (keep !== undefined) {
    findings.push({
      level: 'info',
      code: 'redis.server-keepalive',
      message:
        keep > 0
          ? `the server probes silent clients every ${human(keep)} (tcp-keepalive): a vanished client's slot is freed after about twice that`
          : 'the server never probes clients (tcp-keepalive 0): a vanished client holds its slot, and its subscriptions, until the kernel gives up',
    });
  }
  advice.push({
    option: 'lifeline-net/redis: lifeline.socket.keepaliveIdleMs',
    value:
      '10000 (the default), below the shortest idle cut of any NAT or load balancer on the path (AWS NAT/NLB: 350 s)',
    because:
      'TCP keepalive keeps middleboxes from dropping an idle connection and finds a dead server from the client side',
  });
  findings.push(...busyFinding('redis.near-client-limit', limit, connected));
  return {
    server: { version, total: connected, groups: groupConnections(connections), idleInTransaction, limit },
    settings,
    advice,
    findings,
  };
}
