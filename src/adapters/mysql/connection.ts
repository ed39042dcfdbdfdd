// One pooled mysql2 connection as lifeline sees it: a mysql2 PoolConnection whose stream LiveSocket
// watches, its state (read-only session, commands in flight, death), opening and closing it.
import type { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { type DisagreementMessage, driverDisagreementChannel } from '../../core/channels.js';
import { LiveSocket, type LiveSocketOptions } from '../../socket/index.js';

/** What lifeline reads and calls on a mysql2 (Pool)Connection: its stream, thread id and command queue. */
export interface RawConnection extends EventEmitter {
  stream: net.Socket;
  threadId: number | null;
  _fatalError: Error | null;
  _protocolError?: Error | null;
  _closing: boolean;
  _pool: unknown;
  _released: boolean;
  addCommand(cmd: EventEmitter): EventEmitter;
  connect(cb: (err: Error | null) => void): void;
  query(sql: unknown, values: unknown, cb: (err: MysqlError | null, ...rest: unknown[]) => void): unknown;
  execute(sql: unknown, values: unknown, cb: (err: MysqlError | null, ...rest: unknown[]) => void): unknown;
  destroy(): void;
  /** COM_RESET_CONNECTION (mysql2 ≥ 3.x): the session back to its state right after connect. */
  reset(cb: (err: MysqlError | null) => void): unknown;
  _realEnd(cb?: (err?: Error) => void): void;
}

export interface MysqlError extends Error {
  errno?: number;
  code?: string;
  fatal?: boolean;
}

export interface ConnState {
  readonly live: LiveSocket;
  /** `host:port` this connection went to. */
  readonly host: string;
  /** First sign the connection is gone. */
  death: Error | undefined;
  /** The session is read-only because lifeline made it so (SET SESSION TRANSACTION READ ONLY). */
  readOnly: boolean;
  /** Commands queued or running on the connection (counted at mysql2's addCommand). */
  inFlight: number;
  /** Lent out by getConnection. */
  checkedOut: boolean;
  /** The pool is closing it on purpose. */
  closing: boolean;
  /** A read-only failover error or a deadline left the session unfit: destroy it instead of reusing it. */
  retire: boolean;
  /** Set by the pool: called once, at the first sign of death. */
  onDeath: ((error: Error | undefined) => void) | undefined;
}

const STATE = Symbol('lifeline.mysql.connection');
type Stateful = RawConnection & { [STATE]?: ConnState };

export function stateOf(conn: RawConnection): ConnState | undefined {
  return (conn as Stateful)[STATE];
}

/** The LiveSocket under a lifeline-net/mysql connection: its state, death record and `capabilities()`. */
export function liveSocketOf(conn: unknown): LiveSocket | undefined {
  return typeof conn === 'object' && conn !== null ? (conn as Stateful)[STATE]?.live : undefined;
}

/** Synchronous liveness: LiveSocket's state and every death signal mysql2 gave so far. */
export function isAlive(conn: RawConnection): boolean {
  const state = stateOf(conn);
  if (state === undefined || state.death !== undefined || state.retire) return false;
  return state.live.usable && conn._fatalError === null && !conn._closing;
}

/** Records the first sign of death and tells the pool. */
export function markDead(conn: RawConnection, error: Error | undefined): void {
  const state = stateOf(conn);
  if (state === undefined || state.death !== undefined) return;
  state.death = error ?? new Error('connection closed');
  state.onDeath?.(error);
}

/**
 * mysql2's own view of the connection, from the flags it keeps (its `state` getter reads the same): no fatal or
 * protocol error recorded, not closing, its stream not destroyed.
 */
function mysql2SaysOpen(conn: RawConnection): boolean {
  return (
    conn._fatalError === null &&
    (conn._protocolError ?? null) === null &&
    conn._closing !== true &&
    conn.stream?.destroyed !== true
  );
}

/**
 * lifeline-net/observe's disagreement counter: lifeline's LiveSocket knows the connection is dead (FIN, RST,
 * keepalive, user timeout, write stall, a verified lost reply) while mysql2's flags still say it is open.
 */
function reportDisagreement(live: LiveSocket): void {
  const message: DisagreementMessage = { driver: 'mysql2', flag: 'open', endpoint: live.endpoint };
  driverDisagreementChannel.publish(message);
}

const COUNTED = Symbol('lifeline.mysql.command');
type Counted = EventEmitter & { [COUNTED]?: ConnState };

/** A command's 'end' (mysql2 emits it once): one shared listener, no closure per command. */
function onCommandEnd(this: Counted): void {
  const state = this[COUNTED];
  if (state === undefined) return;
  this[COUNTED] = undefined;
  if (--state.inFlight === 0) state.live.replyReceived();
}

/** Whether mysql2 emitted 'end' on `cmd`, a command queued on one of lifeline's connections. */
export function commandEnded(cmd: EventEmitter): boolean {
  return COUNTED in cmd && (cmd as Counted)[COUNTED] === undefined;
}

export type ConnectionFactory = (config: object) => RawConnection;

/** mysql2's own Connection.prototype.addCommand, taken from the first connection made. */
let baseAddCommand: RawConnection['addCommand'] | undefined;

/** addCommand of lifeline's connections: counts the command in flight so the socket knows a reply is awaited. */
function countedAddCommand(this: Stateful, cmd: EventEmitter): EventEmitter {
  const state = this[STATE];
  if (state !== undefined) {
    // No argument: the socket's readTimeoutMs (0 here, never set), and no per-call option check.
    if (state.inFlight++ === 0) state.live.expectReply();
    (cmd as Counted)[COUNTED] = state;
    cmd.on('end', onCommandEnd);
  }
  return (baseAddCommand as RawConnection['addCommand']).call(this, cmd);
}

/**
 * Creates one mysql2 PoolConnection (through `make`), puts a LiveSocket on its stream and counts its
 * commands, so the socket knows when a reply is awaited. Resolves once the handshake is done; a failed
 * handshake or an aborted `signal` rejects and leaves nothing open.
 */
export function openConnection(
  make: ConnectionFactory,
  config: object,
  host: string,
  socketOptions: LiveSocketOptions,
  signal: AbortSignal,
): Promise<RawConnection> {
  // mysql2's constructor dials at once: from here on, every way out must close what it opened.
  const conn = make(config) as Stateful;
  let live: LiveSocket;
  try {
    live = LiveSocket.wrap(conn.stream, socketOptions);
  } catch (error) {
    // Left open, each retried create would leave one more server connection behind.
    hardClose(conn);
    return Promise.reject(error);
  }
  const state: ConnState = {
    live,
    host,
    death: undefined,
    readOnly: false,
    inFlight: 0,
    checkedOut: false,
    closing: false,
    retire: false,
    onDeath: undefined,
  };
  conn[STATE] = state;
  // mysql2 emits 'error' on the connection for a fatal error; unheard, that would crash the process.
  conn.on('error', (error: Error) => markDead(conn, error));
  conn.on('end', () => markDead(conn, undefined));
  live.onClose((death) => {
    if (driverDisagreementChannel.hasSubscribers && mysql2SaysOpen(conn)) reportDisagreement(live);
    markDead(conn, death?.error);
  });
  baseAddCommand ??= conn.addCommand;
  // One function shared by every connection (a closure per connection made mysql2's `this.addCommand(…)`
  // call sites megamorphic).
  conn.addCommand = countedAddCommand;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      state.closing = true;
      hardClose(conn);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    conn.connect((err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) {
        state.closing = true;
        hardClose(conn);
        reject(err);
      } else resolve(conn);
    });
  });
}

/**
 * mysql2's destroy() only half-closes (stream.end()): a peer that never answers (a swallowing middlebox, a
 * handshake that never came) would keep the socket, and a server-side connection, open for good.
 */
function hardClose(conn: RawConnection): void {
  conn.destroy();
  conn.stream.destroy();
}

/** Closes a connection the pool is done with: COM_QUIT when it is alive, else the socket. Never rejects. */
export function closeConnection(conn: RawConnection): Promise<void> {
  const state = stateOf(conn);
  if (state !== undefined) state.closing = true;
  conn._pool = null;
  if (!isAliveForQuit(conn)) {
    hardClose(conn);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      hardClose(conn);
      resolve();
    }, 1000).unref();
    conn._realEnd(() => {
      clearTimeout(timer);
      conn.destroy();
      resolve();
    });
  });
}

function isAliveForQuit(conn: RawConnection): boolean {
  const state = stateOf(conn);
  return state !== undefined && state.death === undefined && state.live.usable && conn._fatalError === null;
}
