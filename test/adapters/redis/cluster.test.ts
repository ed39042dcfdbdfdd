/**
 * lifeline-net/redis's Cluster (ioredis API) against a real 3-master Redis Cluster started by this file, each
 * node behind its own fault proxy (ioredis natMap maps the addresses the cluster announces to the proxies):
 * node connections are lifeline Redis, MOVED and ASK are followed, and under every fault no INCR or RPUSH is
 * applied twice and no GET fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster as PlainCluster } from 'ioredis';
import { Cluster, type ConnectionEnd, createCluster, Redis } from '../../../src/adapters/redis/index.js';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { FaultProxy } from '../../../src/faults/index.js';
import { checkOutcome, type Ops, runLoad } from './load.js';
import { type ClusterLab, haveRedisBinaries, startCluster } from './servers.js';
import { type Lab, loseNextReply, sleep } from './support.js';

let lab: ClusterLab | undefined;
let proxies: FaultProxy[] = [];
let natMap: Record<string, { host: string; port: number }> = {};
let admin: PlainCluster | undefined;
let prefixCount = 0;

before(async () => {
  if (!(await haveRedisBinaries())) return;
  lab = await startCluster(3);
  proxies = lab.ports.map(
    (port) => new FaultProxy({ listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}`, seed: port }),
  );
  const addresses = await Promise.all(proxies.map((p) => p.start()));
  natMap = Object.fromEntries(
    lab.ports.map((port, i) => [`127.0.0.1:${port}`, addresses[i] as { host: string; port: number }]),
  );
  admin = new PlainCluster([{ host: '127.0.0.1', port: lab.ports[0] as number }]);
  admin.on('error', () => {});
});

after(async () => {
  await admin?.quit().catch(() => {});
  admin?.disconnect();
  await Promise.all(proxies.map((p) => p.stop()));
  await lab?.stop();
});

function client(extra: Record<string, unknown> = {}): Cluster {
  const first = Object.values(natMap)[0];
  assert.ok(first);
  const cluster = new Cluster([first], {
    natMap,
    lifeline: { replyOverdueMs: 200 },
    clusterRetryStrategy: () => 50,
    ...extra,
  });
  cluster.on('error', () => {});
  cluster.on('node error', () => {});
  return cluster;
}

function skipWithout(t: { skip(message: string): void }): boolean {
  if (lab !== undefined) return false;
  t.skip('redis-server / redis-cli not installed');
  return true;
}

/** The admin connection to the node holding `key`'s slot, and the cluster's node ids. */
async function ownerOf(key: string): Promise<{ slot: number; owner: string; ids: Map<string, string> }> {
  assert.ok(admin);
  const slot = Number(await admin.call('cluster', 'keyslot', key));
  const slots = (await admin.call('cluster', 'slots')) as [number, number, [string, number, string]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range);
  const ids = new Map(slots.map(([, , [host, port, id]]) => [`${host}:${port}`, id]));
  return { slot, owner: `${range[2][0]}:${range[2][1]}`, ids };
}

describe('Cluster: an ioredis Cluster whose nodes are lifeline connections', () => {
  test('commands across slots; every node connection is a lifeline Redis; duplicate() stays lifeline', async (t) => {
    if (skipWithout(t)) return;
    const cluster = client();
    const prefix = `c${prefixCount++}:`;
    for (let i = 0; i < 30; i++) await cluster.set(`${prefix}k${i}`, String(i));
    const values = await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.get(`${prefix}k${i}`)));
    assert.deepEqual(
      values,
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    assert.equal(cluster.nodes().length, 3);
    assert.ok(cluster.nodes().every((node) => node instanceof Redis));
    const copy = cluster.duplicate();
    assert.ok(copy instanceof Cluster);
    copy.disconnect();
    await cluster.quit();
  });

  test('ASK during a slot migration and MOVED after it are followed', async (t) => {
    if (skipWithout(t)) return;
    assert.ok(admin);
    const cluster = client();
    const key = `c${prefixCount++}:migrating`;
    await cluster.get(key); // slot table loaded, owner known
    const { slot, owner, ids } = await ownerOf(key);
    const target = [...ids.keys()].find((address) => address !== owner) as string;
    const node = (address: string) => {
      const [host, port] = address.split(':');
      return new Redis({ host, port: Number(port), lazyConnect: true });
    };
    const [ownerAdmin, targetAdmin] = [node(owner), node(target)];
    await Promise.all([ownerAdmin.connect(), targetAdmin.connect()]);
    try {
      await targetAdmin.call('cluster', 'setslot', slot, 'importing', ids.get(owner) as string);
      await ownerAdmin.call('cluster', 'setslot', slot, 'migrating', ids.get(target) as string);
      // The key is not on the owner: the owner answers ASK, the client asks the target.
      assert.equal(await cluster.set(key, 'asked'), 'OK');
      assert.equal(await targetAdmin.call('asking').then(() => targetAdmin.get(key)), 'asked');
      for (const a of [targetAdmin, ownerAdmin]) {
        await a.call('cluster', 'setslot', slot, 'node', ids.get(target) as string);
      }
      // The client still routes the slot to the old owner: MOVED, followed.
      assert.equal(await cluster.get(key), 'asked');
      assert.equal(await cluster.incr(`${key}:n`), 1);
    } finally {
      ownerAdmin.disconnect();
      targetAdmin.disconnect();
      await cluster.quit();
    }
  });

  test('a subscriber on the cluster receives messages, and again after its connection ended', async (t) => {
    if (skipWithout(t)) return;
    const sub = client();
    const pub = client();
    const channel = `c${prefixCount++}:news`;
    const got = new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m)));
    await sub.subscribe(channel);
    await pub.publish(channel, 'hello');
    assert.equal(await got, 'hello');
    // Every connection ends (FIN from each node): the subscriber is chosen again and subscribes again.
    // Only messages published after the FINs count: the subscriber's return is what this test checks (a second
    // copy of 'hello' once reached this listener under load: a replaced subscriber still forwarded messages,
    // fixed and tested in 'the subscriber replaced while its old connection still delivers').
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => {
      if (m !== 'hello') messages.push(m);
    });
    for (const proxy of proxies) proxy.closeAll('fin');
    for (let i = 0; messages.length === 0; i++) {
      assert.ok(i < 500, 'the subscriber came back');
      await pub.publish(channel, `again ${i}`).catch(() => 0);
      await sleep(20);
    }
    assert.match(messages[0] as string, /^again/);
    await Promise.all([sub.quit(), pub.quit()]);
  });
});

/** ioredis's internal subscriber connection of a Cluster (a plain ioredis Redis), as far as these tests read it. */
interface SubscriberInstance {
  options: { port: number };
  stream?: { bytesRead: number; destroyed: boolean };
}
function subscriberOf(cluster: Cluster): SubscriberInstance | null {
  return (
    cluster as unknown as { subscriber: { getInstance(): SubscriberInstance | null } }
  ).subscriber.getInstance();
}

/** How many connections subscribe to `channel` on all nodes together (PUBSUB NUMSUB counts one node's own). */
async function subscribersOf(channel: string): Promise<number> {
  assert.ok(admin);
  const counts = await Promise.all(
    admin
      .nodes('master')
      .map(async (node) => Number(((await node.call('pubsub', 'numsub', channel)) as [string, number])[1])),
  );
  return counts.reduce((a, b) => a + b, 0);
}

describe('Cluster: the subscriber replaced while its old connection still delivers', () => {
  test('each message reaches the listener once', async (t) => {
    if (skipWithout(t)) return;
    const sub = client();
    const pub = client();
    const channel = `c${prefixCount++}:once`;
    await sub.get(`${channel}:warm`); // the cluster is ready; its subscriber connects on the first SUBSCRIBE
    const before = new Map(proxies.map((p) => [p, new Set(p.connections().map((c) => c.id))]));
    const got: string[] = [];
    sub.on('message', (_c: string, m: string) => got.push(m));
    await sub.subscribe(channel);
    const old = subscriberOf(sub);
    assert.ok(old?.stream);
    const proxy = proxies.find((p) => p.listen.endsWith(`:${old.options.port}`)) as FaultProxy;
    const opened = proxy.connections().filter((c) => !before.get(proxy)?.has(c.id));
    assert.equal(opened.length, 1, "SUBSCRIBE opened the subscriber's connection and no other");
    // The old subscriber's FIN (ioredis ends it gracefully) is held on the way to the node: the node keeps it
    // subscribed and keeps sending it every message, as a slow network or a busy node does for a while.
    proxy.addToxic({
      name: 'hold-fin',
      type: 'timeout',
      stream: 'upstream',
      attributes: { timeout: 0 },
      target: { connection: (opened[0] as { id: number }).id },
    });
    t.after(() => proxy.removeToxic('hold-fin'));
    // The cluster's data connection to the subscriber's node is reset: ioredis drops the node from its pool
    // ('-node') and chooses a new subscriber, which subscribes to the channel again.
    const node = sub.nodes('all').find((n) => n.options.port === old.options.port);
    assert.ok(node);
    await node.ping().catch(() => {});
    const data = proxy
      .connections()
      .filter((c) => c.id !== (opened[0] as { id: number }).id)
      .map((c) => c.id);
    for (const id of data) {
      proxy.addToxic({
        name: `reset-${id}`,
        type: 'reset_peer',
        attributes: { timeout: 0 },
        target: { connection: id },
      });
    }
    await node.ping().catch(() => {});
    for (let i = 0; (await subscribersOf(channel)) < 2; i++) {
      assert.ok(i < 500, 'a new subscriber subscribed beside the old one');
      await sleep(10);
    }
    for (const id of data) proxy.removeToxic(`reset-${id}`);
    assert.notEqual(subscriberOf(sub), old, 'the subscriber was replaced');
    // Both connections are subscribed on the nodes: each message is sent to both. It reaches the listener
    // once, checked after the old connection has read its own copy (as RESP2 frames it: once its bytes are
    // read, ioredis has parsed the copy and forwarded it, or not).
    const frame = `*3\r\n$7\r\nmessage\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$4\r\nonce\r\n`;
    const copyRead = old.stream.bytesRead + Buffer.byteLength(frame);
    await pub.publish(channel, 'once');
    for (let i = 0; !got.includes('once') || old.stream.bytesRead < copyRead; i++) {
      assert.ok(i < 500, 'the message arrived on both connections');
      await sleep(10);
    }
    assert.deepEqual(
      got.filter((m) => m === 'once'),
      ['once'],
    );
    await Promise.all([sub.quit(), pub.quit()]);
  });
});

describe('Cluster: a lost reply on a node connection', () => {
  /** The proxy and its newest connection for the node that holds `key` (the client's data connection). */
  async function nodeLink(key: string): Promise<{ proxy: FaultProxy; connection: number }> {
    const { owner } = await ownerOf(key);
    const proxy = proxies[lab?.ports.indexOf(Number(owner.split(':')[1])) ?? 0] as FaultProxy;
    const connection = Math.max(...proxy.connections().map((c) => c.id));
    return { proxy, connection };
  }

  test('a read-only pipeline is sent again whole and answers', async (t) => {
    if (skipWithout(t)) return;
    assert.ok(admin);
    const tag = `{p${prefixCount++}}`;
    await admin.set(`${tag}a`, '1');
    await admin.set(`${tag}b`, '2');
    const cluster = client();
    assert.equal(await cluster.get(`${tag}a`), '1');
    const { proxy, connection } = await nodeLink(`${tag}a`);
    loseNextReply(proxy, connection);
    const results = await cluster.pipeline().get(`${tag}a`).get(`${tag}b`).exec();
    assert.deepEqual(results, [
      [null, '1'],
      [null, '2'],
    ]);
    cluster.disconnect();
  });

  test('INCR and MULTI … EXEC whose reply was lost: OutcomeUnknownError, applied once', async (t) => {
    if (skipWithout(t)) return;
    assert.ok(admin);
    const tag = `{m${prefixCount++}}`;
    const cluster = client();
    assert.equal(await cluster.incr(`${tag}n`), 1);
    let link = await nodeLink(`${tag}n`);
    loseNextReply(link.proxy, link.connection);
    await assert.rejects(cluster.incr(`${tag}n`), OutcomeUnknownError);
    assert.equal(await admin.get(`${tag}n`), '2', 'the lost INCR ran once');
    assert.equal(await cluster.get(`${tag}n`), '2');
    link = await nodeLink(`${tag}n`);
    loseNextReply(link.proxy, link.connection);
    await assert.rejects(cluster.multi().incr(`${tag}n`).incr(`${tag}n`).exec(), OutcomeUnknownError);
    assert.equal(await admin.get(`${tag}n`), '4', 'the lost transaction ran once');
    cluster.disconnect();
  });
});

/** Each fault applied to every node's proxy while the load runs. */
const clusterFaults: Record<string, (prefix: string) => Promise<void>> = {
  async 'connection resets on every node'() {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      for (const proxy of proxies) proxy.closeAll('reset');
    }
  },
  async 'FINs from every node'() {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      for (const proxy of proxies) proxy.closeAll('fin');
    }
  },
  async 'a lifetime cut of every connection'() {
    for (const proxy of proxies) {
      proxy.addToxic({
        name: 'lifetime',
        type: 'lifetime',
        stream: 'downstream',
        attributes: { lifetime: 60 },
      });
    }
    await sleep(400);
    for (const proxy of proxies) proxy.removeToxic('lifetime');
  },
  async 'a stall of the replies'() {
    for (const proxy of proxies) {
      proxy.addToxic({
        name: 'stall',
        type: 'stall_reads',
        stream: 'downstream',
        attributes: { duration: 300 },
      });
    }
    await sleep(400);
    for (const proxy of proxies) proxy.removeToxic('stall');
  },
  async 'a middlebox that swallows bytes on the counter’s node'(prefix) {
    await sleep(40);
    const { owner } = await ownerOf(`${prefix}counter`);
    const proxy = proxies[lab?.ports.indexOf(Number(owner.split(':')[1])) ?? 0] as FaultProxy;
    const newest = Math.max(...proxy.connections().map((c) => c.id));
    proxy.addToxic({
      name: 'swallow',
      type: 'timeout',
      stream: 'upstream',
      attributes: { timeout: 0 },
      target: { connection: newest },
    });
    await sleep(1000);
    proxy.removeToxic('swallow');
  },
  async 'one node unreachable for a while (restart)'() {
    await sleep(40);
    const proxy = proxies[1] as FaultProxy;
    proxy.disable();
    await sleep(300);
    await proxy.enable();
  },
};

describe('Cluster under faults: INCR and RPUSH never doubled, GET never fails', () => {
  for (const [name, inject] of Object.entries(clusterFaults)) {
    test(name, { timeout: 60_000 }, async (t) => {
      if (skipWithout(t)) return;
      assert.ok(admin);
      const prefix = `c${prefixCount++}:`;
      await admin.set(`${prefix}fixed`, 'fixed');
      const cluster = client();
      await cluster.get(`${prefix}fixed`);
      const fake = { prefix, admin } as unknown as Lab;
      const [outcome] = await Promise.all([runLoad(cluster, fake, 30), inject(prefix)]);
      await checkOutcome(fake, outcome);
      assert.ok(outcome.incrOk > 0, 'some INCRs acknowledged');
      cluster.disconnect();
    });
  }
});

function nodeCluster(onConnectionEnd?: (end: ConnectionEnd) => void) {
  const first = Object.values(natMap)[0];
  assert.ok(first);
  const cluster = createCluster({
    rootNodes: [{ socket: { host: first.host, port: first.port } }],
    nodeAddressMap: (address: string) => natMap[address],
    lifeline: { replyOverdueMs: 200, onConnectionEnd },
  });
  cluster.on('error', () => {});
  return cluster;
}

describe('node-redis createCluster', () => {
  test('commands across slots; node sockets watched by lifeline (a FIN is seen at once)', async (t) => {
    if (skipWithout(t)) return;
    const ends: ConnectionEnd[] = [];
    const cluster = await nodeCluster((end) => ends.push(end)).connect();
    const prefix = `n${prefixCount++}:`;
    for (let i = 0; i < 30; i++) await cluster.set(`${prefix}k${i}`, String(i));
    for (let i = 0; i < 30; i++) assert.equal(await cluster.get(`${prefix}k${i}`), String(i));
    assert.equal(await cluster.incr(`${prefix}n`), 1);
    for (const proxy of proxies) proxy.closeAll('fin');
    while (!ends.some((end) => end.cause === 'peer-fin')) await sleep(10);
    assert.equal(await cluster.get(`${prefix}k3`), '3');
    cluster.destroy();
  });

  // No swallowing middlebox here: lifeline cannot tell which node a node-redis cluster command went to, so
  // its node connections have no lost-reply verification (docs/redis.md).
  const nodeFaults = Object.entries(clusterFaults).filter(([name]) => !name.includes('swallows'));
  for (const [name, inject] of nodeFaults) {
    test(name, { timeout: 60_000 }, async (t) => {
      if (skipWithout(t)) return;
      assert.ok(admin);
      const prefix = `n${prefixCount++}:`;
      await admin.set(`${prefix}fixed`, 'fixed');
      const cluster = await nodeCluster().connect();
      const ops: Ops = {
        incr: (key) => cluster.incr(key),
        rpush: (key, value) => cluster.rPush(key, value),
        get: (key) => cluster.get(key),
      };
      const fake = { prefix, admin } as unknown as Lab;
      const [outcome] = await Promise.all([runLoad(ops, fake, 30), inject(prefix)]);
      await checkOutcome(fake, outcome);
      assert.ok(outcome.incrOk > 0, 'some INCRs acknowledged');
      cluster.destroy();
    });
  }
});
