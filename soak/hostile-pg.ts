// A hostile "PostgreSQL server" for fuzzing lifeline-net/pg's wire handling: it accepts the startup (and
// refuses TLS), then answers the startup or a query with garbage, truncated messages, wrong or oversized
// lengths (a 1 GiB length), unexpected message types, or a valid reply followed by junk. `runScenario` points a
// lifeline-net/pg Pool at it and checks that every query settles within its bound with a typed error (an Error
// with a string `code`), that pool.end() settles, that nothing is thrown uncaught, and reports the heap. Used
// by test/adapters/pg/hostile-server.test.ts (fixed scenarios) and `npm run soak -- --fuzz` (random mutations).
import net from 'node:net';
import { Pool } from '../src/adapters/pg/index.js';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;

/** One backend message: type byte, int32 length (itself included), body. */
export function msg(type: string, body: Buffer = Buffer.alloc(0), length = body.length + 4): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(length | 0, 1);
  return Buffer.concat([head, body]);
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`);

export const authOk = () => msg('R', int32(0));
export const param = (k: string, v: string) => msg('S', Buffer.concat([cstr(k), cstr(v)]));
export const keyData = () => msg('K', Buffer.concat([int32(4242), int32(99)]));
export const ready = (status = 'I') => msg('Z', Buffer.from(status, 'latin1'));
/** The whole successful startup answer. */
export const handshake = () =>
  Buffer.concat([
    authOk(),
    param('server_version', '16.0'),
    param('client_encoding', 'UTF8'),
    param('integer_datetimes', 'on'),
    keyData(),
    ready(),
  ]);
/** RowDescription of one int4 column named `n`. */
export const rowDescription = () =>
  msg(
    'T',
    Buffer.concat([int16(1), cstr('n'), int32(0), int16(0), int32(23), int16(4), int32(-1), int16(0)]),
  );
export const dataRow = (value = '1') =>
  msg('D', Buffer.concat([int16(1), int32(Buffer.byteLength(value)), Buffer.from(value)]));
export const complete = (tag = 'SELECT 1') => msg('C', cstr(tag));
/** A full simple-query answer to `select 1`. */
export const selectOne = () => Buffer.concat([rowDescription(), dataRow(), complete(), ready()]);
/** Extended protocol (parameters): ParseComplete, BindComplete, then the rows. */
export const extendedOne = () =>
  Buffer.concat([msg('1'), msg('2'), rowDescription(), dataRow(), complete(), ready()]);

/** What the hostile server does once the startup arrived, and when a query (Q or Sync) arrived. */
export interface Scenario {
  readonly name: string;
  /** Default: the valid handshake. */
  startup?(socket: net.Socket): void;
  /** Default: a valid answer. `n` counts queries on this connection from 0. */
  query?(socket: net.Socket, n: number, extended: boolean): void;
}

/** Writes `bytes` then keeps the socket open, saying nothing more (the client must give up by itself). */
export const thenStall = (socket: net.Socket, bytes: Buffer) => socket.write(bytes);
export const thenClose = (socket: net.Socket, bytes: Buffer) => socket.end(bytes);
/** Streams `total` bytes of junk in 64 KiB chunks (bounded), then stalls. */
export function flood(socket: net.Socket, head: Buffer, total: number, fill = 0x41): void {
  socket.write(head);
  let left = total;
  const chunk = Buffer.alloc(65536, fill);
  const pump = () => {
    while (left > 0 && !socket.destroyed) {
      left -= chunk.length;
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

/** A net.Server speaking the scenario; counts connections; stop() closes everything. */
export async function hostileServer(
  scenario: Scenario,
): Promise<{ port: number; connections: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let started = false;
    let queries = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST) socket.write('N');
          else if (code === CANCEL_REQUEST) socket.end();
          else {
            started = true;
            if (scenario.startup) scenario.startup(socket);
            else socket.write(handshake());
          }
          continue;
        }
        if (buffer.length < 5) return;
        const type = String.fromCharCode(buffer[0] as number);
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        buffer = buffer.subarray(length + 1);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (type === 'Q' || type === 'S') {
          const n = queries++;
          if (scenario.query) scenario.query(socket, n, type === 'S');
          else socket.write(type === 'S' ? extendedOne() : selectOne());
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => connections,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ScenarioResult {
  name: string;
  queries: number;
  ok: number;
  /** Typed errors by code. */
  errors: Record<string, number>;
  /** Errors without a string `code` (raw TypeError, RangeError, …), with their messages. */
  untyped: string[];
  /** Queries that did not settle within their bound. */
  hung: number;
  /** pool.end() settled within its bound. */
  ended: boolean;
  uncaught: string[];
  connections: number;
}

const DEADLINE_MS = 1000;
/** Connect timeout + deadline + retries and backoff, with slack for a loaded machine. */
export const BOUND_MS = 8000;

/**
 * Points a lifeline-net/pg Pool (max 2) at the scenario's server and runs `queries` queries (simple and
 * parameterized alternately, two at a time). Every query gets a bound; pool.end() too.
 */
export async function runScenario(scenario: Scenario, queries = 4): Promise<ScenarioResult> {
  const uncaught: string[] = [];
  const onError = (error: unknown) => uncaught.push(String((error as Error)?.stack ?? error));
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  const server = await hostileServer(scenario);
  const result: ScenarioResult = {
    name: scenario.name,
    queries,
    ok: 0,
    errors: {},
    untyped: [],
    hung: 0,
    ended: false,
    uncaught,
    connections: 0,
  };
  const pool = new Pool({
    host: '127.0.0.1',
    port: server.port,
    user: 'postgres',
    database: 'test',
    max: 2,
    lifeline: {
      connectTimeoutMs: DEADLINE_MS,
      connectRetryMs: DEADLINE_MS,
      acquireTimeoutMs: 2 * DEADLINE_MS,
      queryDeadlineMs: DEADLINE_MS,
      cancelTimeoutMs: 200,
      verifyAfterMs: 300,
      maxRetries: 2,
    },
  });
  pool.on('error', () => {});
  const bounded = async <T>(p: Promise<T>): Promise<{ value?: T; error?: unknown; hung?: true }> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<{ hung: true }>((resolve) => {
      timer = setTimeout(() => resolve({ hung: true }), BOUND_MS);
    });
    try {
      return await Promise.race([p.then((value) => ({ value })), late]);
    } catch (error) {
      return { error };
    } finally {
      clearTimeout(timer);
    }
  };
  const one = async (i: number) => {
    const outcome = await bounded(
      i % 2 === 0 ? pool.query('select 1 as n') : pool.query('select $1::int as n', [1]),
    );
    if (outcome.hung) result.hung++;
    else if (outcome.error === undefined) result.ok++;
    else {
      const e = outcome.error as { code?: unknown; message?: unknown; constructor?: { name?: string } };
      if (typeof e?.code === 'string') result.errors[e.code] = (result.errors[e.code] ?? 0) + 1;
      else result.untyped.push(`${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e)}`);
    }
  };
  for (let i = 0; i < queries; i += 2) await Promise.all([one(i), one(i + 1)]);
  const end = await bounded(pool.end());
  result.ended = !end.hung;
  await server.stop();
  result.connections = server.connections();
  // Late errors of destroyed sockets arrive on the next turns.
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.off('uncaughtException', onError);
  process.off('unhandledRejection', onError);
  return result;
}

const GiB = 1 << 30;
const junk = (n: number, seed = 7) => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

/** The fixed scenarios: every kind of hostile answer, at startup and at a query. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'startup: garbage, then silence', startup: (s) => thenStall(s, junk(300)) },
  { name: 'startup: garbage, then close', startup: (s) => thenClose(s, junk(300, 3)) },
  {
    name: 'startup: truncated AuthenticationOk, then silence',
    startup: (s) => thenStall(s, authOk().subarray(0, 6)),
  },
  {
    name: 'startup: truncated AuthenticationOk, then close',
    startup: (s) => thenClose(s, authOk().subarray(0, 6)),
  },
  {
    name: 'startup: length 0',
    startup: (s) => thenStall(s, Buffer.concat([msg('R', int32(0), 0), junk(64)])),
  },
  {
    name: 'startup: length 3 (below the header)',
    startup: (s) => thenStall(s, msg('Z', Buffer.from('I'), 3)),
  },
  { name: 'startup: negative length', startup: (s) => thenStall(s, msg('R', int32(0), -1)) },
  {
    name: 'startup: length of 1 GiB, 4 MiB sent, then silence',
    startup: (s) => flood(s, msg('R', Buffer.alloc(0), GiB), 4 << 20),
  },
  { name: 'startup: unknown authentication method', startup: (s) => thenStall(s, msg('R', int32(99))) },
  {
    name: 'startup: unexpected DataRow before authentication',
    startup: (s) => thenStall(s, Buffer.concat([dataRow(), handshake()])),
  },
  {
    name: 'startup: unknown message type',
    startup: (s) => thenStall(s, Buffer.concat([msg('~', junk(20)), handshake()])),
  },
  {
    name: 'startup: ErrorResponse without terminators',
    startup: (s) => thenClose(s, msg('E', Buffer.from('SFATAL\0C08P01\0Mbroken'))),
  },
  {
    name: 'startup: ReadyForQuery with an unknown status',
    startup: (s) => thenStall(s, Buffer.concat([authOk(), ready('?')])),
  },
  { name: 'query: garbage, then silence', query: (s) => thenStall(s, junk(500, 11)) },
  { name: 'query: garbage, then close', query: (s) => thenClose(s, junk(500, 13)) },
  { name: 'query: close without an answer', query: (s) => s.end() },
  { name: 'query: silence', query: () => {} },
  {
    name: 'query: RowDescription, then a truncated DataRow, then silence',
    query: (s) => thenStall(s, Buffer.concat([rowDescription(), dataRow().subarray(0, 7)])),
  },
  {
    name: 'query: DataRow without RowDescription',
    query: (s, _n, ext) =>
      s.write(Buffer.concat([...(ext ? [msg('1'), msg('2')] : []), dataRow(), complete(), ready()])),
  },
  {
    name: 'query: DataRow with a column length past its message',
    query: (s) =>
      thenStall(
        s,
        Buffer.concat([
          rowDescription(),
          msg('D', Buffer.concat([int16(1), int32(0x7fffffff), Buffer.from('1')])),
          complete(),
          ready(),
        ]),
      ),
  },
  {
    name: 'query: RowDescription claiming 65535 fields',
    query: (s) =>
      thenStall(s, Buffer.concat([msg('T', Buffer.concat([int16(-1), cstr('n')])), complete(), ready()])),
  },
  {
    name: 'query: DataRow with a length of 1 GiB, 8 MiB sent, then silence',
    query: (s) => flood(s, Buffer.concat([rowDescription(), msg('D', Buffer.alloc(0), GiB)]), 8 << 20),
  },
  {
    name: 'query: a valid answer, then junk',
    query: (s, _n, ext) => s.write(Buffer.concat([ext ? extendedOne() : selectOne(), junk(200, 17)])),
  },
  {
    name: 'query: two answers for one query',
    query: (s, _n, ext) => s.write(Buffer.concat([ext ? extendedOne() : selectOne(), selectOne()])),
  },
  {
    name: 'query: CopyInResponse to a SELECT',
    query: (s) => thenStall(s, msg('G', Buffer.concat([Buffer.from([0]), int16(1), int16(0)]))),
  },
  {
    name: 'query: an unknown message type, then a valid answer',
    query: (s, _n, ext) => s.write(Buffer.concat([msg('~', junk(30)), ext ? extendedOne() : selectOne()])),
  },
  { name: 'query: ReadyForQuery alone', query: (s) => s.write(ready()) },
  {
    name: 'query: ErrorResponse with garbage fields, then ReadyForQuery',
    query: (s) => s.write(Buffer.concat([msg('E', junk(40, 19)), ready()])),
  },
  {
    name: 'query: NoticeResponse flood (4 MiB), then silence',
    query: (s) => flood(s, Buffer.alloc(0), 4 << 20, 0),
  },
];

/** A seeded random mutation of a valid conversation: bit flips, a cut, a bent length or type, junk after. */
export function mutated(seed: number): Scenario {
  let x = seed >>> 0 || 1;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const bend = (valid: Buffer): Buffer => {
    const b = Buffer.from(valid);
    const what = Math.floor(random() * 6);
    if (what === 0) {
      for (let i = 0; i < 1 + random() * 4; i++) {
        const at = Math.floor(random() * b.length);
        b[at] = (b[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
    }
    if (what === 1) return b.subarray(0, Math.floor(random() * b.length));
    if (what === 2) {
      // a message length replaced: tiny, negative, past the data, or huge
      const starts: number[] = [];
      for (let i = 0; i + 5 <= b.length; ) {
        starts.push(i);
        i += 1 + b.readInt32BE(i + 1);
      }
      const at = starts[Math.floor(random() * starts.length)] ?? 0;
      const lengths = [0, 1, 3, -1, -2147483648, 2147483647, GiB, b.length * 2, Math.floor(random() * 70000)];
      b.writeInt32BE(lengths[Math.floor(random() * lengths.length)] as number, at + 1);
    }
    if (what === 3)
      b[0] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~!'.charCodeAt(
        Math.floor(random() * 64),
      );
    if (what === 4) return Buffer.concat([b, junk(Math.floor(random() * 300), Math.floor(random() * 1e9))]);
    if (what === 5) return junk(Math.floor(random() * 200), Math.floor(random() * 1e9));
    return b;
  };
  const atStartup = random() < 0.4;
  const close = random() < 0.5;
  const send = (s: net.Socket, valid: Buffer) =>
    close ? thenClose(s, bend(valid)) : thenStall(s, bend(valid));
  return atStartup
    ? { name: `mutation ${seed} at startup`, startup: (s) => send(s, handshake()) }
    : {
        name: `mutation ${seed} at a query`,
        query: (s, _n, ext) => send(s, ext ? extendedOne() : selectOne()),
      };
}
