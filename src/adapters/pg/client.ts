// One pooled pg client as lifeline sees it: its LiveSocket, its state, and closing it.
import net from 'node:net';
import tls from 'node:tls';
import type pg from 'pg';
import type { ClientConfig, PoolClient, QueryConfig, QueryResult } from 'pg';
import { type DisagreementMessage, driverDisagreementChannel } from '../../core/channels.js';
import { LiveSocket, type LiveSocketOptions } from '../../socket/index.js';
import { PgUnsupportedClientError } from './errors.js';
import type { PgHost } from './hosts.js';
import type { ProtectionStats } from './protect.js';
import { guardWire } from './wire-guard.js';

/** What lifeline knows about one pooled pg client, beyond what pg's own flags say. */
export interface ClientState {
  readonly host: PgHost;
  /** The socket pg reads and writes: the TCP socket, then the TLS socket over it once pg upgraded (`ssl`). */
  socket: net.Socket;
  /** Watches `socket` once it is connected: the source of truth for liveness (state, death cause). */
  live: LiveSocket | undefined;
  readonly createdAt: number;
  /** First sign the connection is gone: a socket error, the peer's FIN, a close, a fatal server error. */
  death: Error | undefined;
  /** The session had an open transaction when it died, so its work is lost, not retryable. */
  deathInTransaction: boolean;
  /** A server error said this session must not be reused (57P0x, 08xxx); destroy it on release. */
  retire: boolean;
  /** Queries issued and not yet settled; a client released with one still running is destroyed. */
  inFlight: number;
  /** Times lent out and given back (pg's maxUses). */
  uses: number;
  /** Whether the client is lent out (pool.connect or pool.query). */
  checkedOut: boolean;
  /** After a deadline: resolves once the cancelled query answered and the cancel was delivered. */
  busyUntil: Promise<void> | undefined;
  /** After a deadline: called when the abandoned query finally answers. */
  afterLateAnswer: (() => void) | undefined;
  /** Set by the pool: called once, at the first sign of death. */
  onDeath: ((client: PoolClient) => void) | undefined;
  /** closeClient has begun: the pool is closing it on purpose, so the 'end' that follows is no death to report. */
  closing: boolean;
  /**
   * The session's `default_transaction_read_only`, as the server last reported it (ParameterStatus, Postgres
   * 14+): the ground truth for safe reads (reads.ts). undefined: never reported, so safe reads are off here.
   */
  readOnly: boolean | undefined;
  /** The server's own pid for this session (pg_backend_pid() at connect), for reply verification (verify.ts). */
  backendPid: number | undefined;
  /** Reply verification found the awaited reply lost; `neverReceived`: the server never saw the statement. */
  replyLost: { neverReceived: boolean } | undefined;
  /** Safe reads are on for this connection (the pool's option, and the server reports the read-only default). */
  safeReads: boolean;
  /** Behind a pooler: each read runs in its own read-only transaction, never through session settings. */
  wrapReads: boolean;
  /** The LiveSocket is told when a reply is awaited, so reply verification can notice a silent one. */
  watched: boolean;
  /**
   * Gives a dead checked-out client's slot back to the pool before its caller releases it (the caller's
   * release() is then a no-op), so a read it runs again elsewhere never waits for its own slot.
   */
  detach: (() => void) | undefined;
  /** The pool's protection counters (protect.ts). */
  stats: ProtectionStats | undefined;
  /** Runs a read again on another pooled connection, for a checked-out client whose connection died under it. */
  reroute:
    | ((config: string | QueryConfig, values: unknown[] | undefined) => Promise<QueryResult>)
    | undefined;
}

const STATE = Symbol('lifeline.pg.client');
type Stateful = PoolClient & { [STATE]?: ClientState };

export function stateOf(client: PoolClient): ClientState {
  const state = (client as Stateful)[STATE];
  if (state === undefined) throw new TypeError('this client does not belong to a lifeline-net/pg Pool');
  return state;
}

/** Synchronous liveness: LiveSocket's state (both directions) and every death signal pg gave so far. */
export function isAlive(client: PoolClient): boolean {
  const state = (client as Stateful)[STATE];
  if (state === undefined || state.death !== undefined || state.retire) return false;
  const live = state.live;
  if (live?.usable === true) return true;
  if (live !== undefined && driverDisagreementChannel.hasSubscribers) reportDisagreement(client, live);
  return false;
}

/** lifeline-net/observe's disagreement counter: pg still says connected while the socket is dead. */
function reportDisagreement(client: PoolClient, live: LiveSocket): void {
  const flags = client as unknown as { _connected?: unknown; _ending?: unknown };
  if (flags._connected !== true || flags._ending === true) return;
  const message: DisagreementMessage = { driver: 'pg', flag: 'pg._connected', endpoint: live.endpoint };
  driverDisagreementChannel.publish(message);
}

/** The LiveSocket under a lifeline-net/pg client: its state, death record and `capabilities()`. */
export function liveSocketOf(client: PoolClient): LiveSocket | undefined {
  return (client as Stateful)[STATE]?.live;
}

export type ClientConstructor = new (config: ClientConfig) => pg.Client;

/** pg's internal Connection (pg ≥ 8): `stream` is what it reads and writes, 'sslconnect' fires on the TLS upgrade. */
interface PgConnection {
  stream: unknown;
  on(event: 'sslconnect', listener: () => void): unknown;
  on(
    event: 'parameterStatus',
    listener: (message: { parameterName: string; parameterValue: string }) => void,
  ): unknown;
}

function connectionOf(client: pg.Client): PgConnection | undefined {
  const connection: unknown = Reflect.get(client, 'connection');
  return typeof connection === 'object' && connection !== null && 'on' in connection
    ? (connection as PgConnection)
    : undefined;
}

/**
 * Opens one pg client to `host` over a socket lifeline owns, and records every way it can die. pg reports
 * a dead socket as an 'error' event on the client, which crashes the process when nobody listens (the
 * classic checked-out-client crash): a listener is attached for the client's whole life, so the death
 * lands in `state.death` and on the query that was running instead.
 */
export async function openClient(
  host: PgHost,
  Client: ClientConstructor,
  signal: AbortSignal | undefined,
  socketOptions: LiveSocketOptions,
): Promise<PoolClient> {
  const socket = new net.Socket();
  // pg ≥ 8 takes the stream object (newer versions also accept a factory); its Connection calls connect().
  const client = new Client({ ...host.config, stream: socket } as unknown as ClientConfig) as Stateful;
  const state: ClientState = {
    host,
    socket,
    live: undefined,
    createdAt: Date.now(),
    death: undefined,
    deathInTransaction: false,
    retire: false,
    inFlight: 0,
    uses: 0,
    checkedOut: false,
    busyUntil: undefined,
    afterLateAnswer: undefined,
    onDeath: undefined,
    closing: false,
    readOnly: undefined,
    backendPid: undefined,
    replyLost: undefined,
    safeReads: false,
    wrapReads: false,
    watched: false,
    reroute: undefined,
    detach: undefined,
    stats: undefined,
  };
  Object.defineProperty(client, STATE, { value: state, enumerable: false });
  // pg-protocol hangs or throws on some malformed backend messages (wire-guard.ts). Under TLS the TCP bytes
  // are ciphertext: the guard goes on the TLS socket at 'sslconnect' instead.
  if (!Reflect.get(connectionOf(client) ?? {}, 'ssl')) guardWire(socket);

  const die = (error: Error) => {
    if (state.death !== undefined) return;
    const tx = client.getTransactionStatus();
    state.deathInTransaction = tx === 'T' || tx === 'E';
    state.death = error;
    state.onDeath?.(client);
  };
  client.on('error', die);
  client.on('end', () => die(new Error('Connection terminated')));
  // Attached before pg's own 'connect' listener (pg calls socket.connect inside client.connect), so keepalive
  // and TCP_USER_TIMEOUT are set before the startup message. The peer's FIN lands as a death at once, while
  // pg would only notice at 'close'.
  socket.once('connect', () => {
    const live = LiveSocket.wrap(socket, socketOptions);
    state.live = live;
    live.onClose((death) => die(death.error ?? new Error(`connection closed (${death.cause})`)));
  });
  // With `ssl`, pg answers the server's 'S' by reading and writing through a TLSSocket over the TCP socket;
  // the LiveSocket follows it there. A connection already dead has reported its death through onClose.
  connectionOf(client)?.on('sslconnect', () => {
    const secure = connectionOf(client)?.stream;
    const live = state.live;
    if (secure instanceof tls.TLSSocket) guardWire(secure);
    if (!(secure instanceof tls.TLSSocket) || live === undefined || live.death !== undefined) return;
    live.upgradedTo(secure);
    state.socket = secure;
  });

  // Postgres 14+ reports the session's read-only default at startup and whenever it changes (our own SET, or
  // a set_config() in the user's statement): safe reads trust only this.
  connectionOf(client)?.on('parameterStatus', (message) => {
    if (message.parameterName === 'default_transaction_read_only') {
      state.readOnly = message.parameterValue === 'on';
    }
  });

  // state.socket: a TLS handshake in progress is torn down through its TLS socket, which closes the TCP one.
  // The listener outlives connect(): the role check and onConnect run on this client within the same create,
  // and a create abandoned (timed out) during them must not leave the client waiting on a server that does
  // not answer. Once the create is done its signal never fires.
  const onAbort = () =>
    state.socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    await client.connect();
    // A Client that connected some other way (pg-native, a patched connect()) left lifeline's socket alone:
    // nothing here could watch it, and handing it out as a pooled client would fail every query.
    if (state.live === undefined) throw new PgUnsupportedClientError();
  } catch (error) {
    signal?.removeEventListener('abort', onAbort);
    state.socket.destroy();
    socket.destroy();
    throw error;
  }
  return client;
}

/** Ends a client without waiting on a server that may be gone: a graceful Terminate, then a hard close. */
export function closeClient(client: PoolClient): Promise<void> {
  const state = stateOf(client);
  state.closing = true;
  if (state.death !== undefined || state.socket.destroyed) {
    state.socket.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => state.socket.destroy(), 1000);
    timer.unref();
    client.end().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
