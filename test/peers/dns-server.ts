// A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for the DNS membership tests: answers A and SRV
// questions from a table the test changes, NXDOMAIN for names it does not hold. Enough of RFC 1035 for
// c-ares (node:dns's Resolver), nothing more.
import dgram from 'node:dgram';
import { once } from 'node:events';

export interface DnsRecords {
  a?: string[];
  srv?: Array<{ target: string; port: number }>;
}

export interface TestDnsServer {
  readonly address: string;
  readonly records: Map<string, DnsRecords>;
  /** Questions answered so far. */
  readonly queries: number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_SRV = 33;

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter((p) => p !== '');
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

/** Reads the question's name; returns it and the offset after it. */
function readName(message: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let at = offset;
  while (at < message.length && message[at] !== 0) {
    const length = message[at]!;
    labels.push(message.subarray(at + 1, at + 1 + length).toString());
    at += 1 + length;
  }
  return [labels.join('.').toLowerCase(), at + 1];
}

function answer(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // pointer to the question's name
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(0, 6); // TTL 0: never cached
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function respond(query: Buffer, records: Map<string, DnsRecords>): Buffer {
  const [name, end] = readName(query, 12);
  const type = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const entry = records.get(name);
  const answers: Buffer[] = [];
  if (type === TYPE_A) {
    for (const ip of entry?.a ?? []) answers.push(answer(TYPE_A, Buffer.from(ip.split('.').map(Number))));
  } else if (type === TYPE_SRV) {
    for (const { target, port } of entry?.srv ?? []) {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(10, 0); // priority
      fixed.writeUInt16BE(5, 2); // weight
      fixed.writeUInt16BE(port, 4);
      answers.push(answer(TYPE_SRV, Buffer.concat([fixed, encodeName(target)])));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8400 | (entry === undefined ? 3 : 0), 2); // QR, AA; NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const socket = dgram.createSocket('udp4');
  const records = new Map<string, DnsRecords>();
  let queries = 0;
  socket.on('message', (message, remote) => {
    try {
      const reply = respond(message, records);
      queries++;
      socket.send(reply, remote.port, remote.address);
    } catch {
      // A malformed packet gets no answer.
    }
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    records,
    get queries() {
      return queries;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
