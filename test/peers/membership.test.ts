// DNS membership against a real UDP DNS server on loopback (node:dns's Resolver pointed at it with
// setServers): SRV and A records, re-resolved on the interval, with members added and removed as the
// records change, and a failed resolution keeping the members.
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { after, test } from 'node:test';
import { InvalidOptionError } from '../../src/core/options.js';
import { dnsMembership, type PeerAddress, PeerSet } from '../../src/peers/index.js';
import { startDnsServer } from './dns-server.js';
import { collectLines } from './support.js';

const T = { timeout: 20_000 };
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

function resolverFor(address: string): dns.promises.Resolver {
  const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([address]);
  return resolver;
}

/** Resolves when the set's members (as keys, sorted) equal `expected`. */
function membersBecome(set: PeerSet<PeerAddress>, expected: string[]): Promise<void> {
  const keys = (): string =>
    set
      .peers()
      .map((p) => `${p.host}:${p.port}`)
      .sort()
      .join(',');
  return new Promise((resolve) => {
    const check = (): void => {
      if (keys() === expected.join(',')) {
        set.off('added', check);
        set.off('removed', check);
        resolve();
      }
    };
    set.on('added', check);
    set.on('removed', check);
    check();
  });
}

test(
  'SRV members are re-resolved: records added and removed become members added and removed',
  T,
  async () => {
    const server = await startDnsServer();
    const name = '_storage._tcp.grid.test';
    server.records.set(name, {
      srv: [
        { target: 's1.grid.test', port: 7001 },
        { target: 's2.grid.test', port: 7002 },
      ],
    });
    const log = collectLines();
    const set = new PeerSet<PeerAddress>({
      members: dnsMembership({ hostname: name, resolver: resolverFor(server.address), intervalMs: 20 }),
      logger: log.logger,
      logWindowMs: 10,
    });
    try {
      await membersBecome(set, ['s1.grid.test:7001', 's2.grid.test:7002']);
      const pending = set.call(set.peers()[0]!, () => new Promise<never>(() => {}));
      server.records.set(name, {
        srv: [
          { target: 's2.grid.test', port: 7002 },
          { target: 's3.grid.test', port: 7003 },
        ],
      });
      await membersBecome(set, ['s2.grid.test:7002', 's3.grid.test:7003']);
      await assert.rejects(pending, { code: 'LIFELINE_PEER_LOST' });
      // The name vanishes: the set keeps its members and says so once.
      const failing = log.next('failing');
      const errors: string[] = [];
      set.on('membership-error', (e) => errors.push(e.code));
      server.records.delete(name);
      const line = await failing;
      assert.match(line.message, /LIFELINE_PEERS_RESOLVE_FAILED/);
      assert.ok(errors.length >= 1 && errors.every((c) => c === 'LIFELINE_PEERS_RESOLVE_FAILED'));
      assert.deepEqual(
        set
          .peers()
          .map((p) => p.port)
          .sort(),
        [7002, 7003],
      );
      assert.equal(log.lines.filter((l) => l.kind === 'failing').length, 1, 'a failing resolver is one line');
      // It comes back: one recovered line.
      const recovered = log.next('recovered');
      server.records.set(name, { srv: [{ target: 's4.grid.test', port: 7004 }] });
      await membersBecome(set, ['s4.grid.test:7004']);
      await recovered;
    } finally {
      set.close();
      await server.close();
    }
  },
);

test('A records with a port', T, async () => {
  const server = await startDnsServer();
  server.records.set('storage.grid.test', { a: ['198.18.0.2', '198.18.0.6', '198.18.0.2'] });
  const set = new PeerSet<PeerAddress>({
    members: dnsMembership({
      hostname: 'storage.grid.test',
      port: 8080,
      resolver: resolverFor(server.address),
    }),
    logger: () => {},
  });
  try {
    await membersBecome(set, ['198.18.0.2:8080', '198.18.0.6:8080']);
  } finally {
    set.close();
    await server.close();
  }
  assert.throws(() => dnsMembership({ hostname: 'x', type: 'A' }), InvalidOptionError);
  assert.throws(() => dnsMembership({ hostname: 'x', intervalMs: 0 }), InvalidOptionError);
  assert.throws(() => dnsMembership({ hostname: 'x', resolver: {} as never }), /resolve4/);
});
