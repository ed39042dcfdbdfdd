// Over 400 lines on purpose: LiveSocket is one state machine over one socket, and every event that moves it
// reads the same private state; its options, TCP helpers, states, errors and reply watch live beside it.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { brand } from '../core/brand.js';
import { LifelineError, redact } from '../core/errors.js';
import { guardedEmit, notify } from '../core/events.js';
import { checkOption, InvalidOptionError } from '../core/options.js';
import {
  ConnectFailedError,
  ConnectionResetError,
  KeepaliveTimeoutError,
  PeerClosedError,
  ReadTimeoutError,
  SocketClosedError,
  UnexpectedDataError,
  UpgradeRefusedError,
  UserTimeoutError,
  WriteStallError,
} from './errors.js';
import {
  type LiveSocketConnectOptions,
  type LiveSocketOptions,
  type ResolvedOptions,
  resolveConnectOptions,
  resolveOptions,
  timer,
} from './options.js';
import { type OverdueHandler, ReplyWatch } from './reply-watch.js';
import { canTransition, type Death, type DeathCause, deathCauses, type LiveState } from './state.js';
import {
  applyTcpOptions,
  canReadTcpInfo,
  nothingApplied,
  type SocketCapabilities,
  timeoutKind,
} from './tcp.js';
import { type ConnectTrace, connectSettled, connectStarted, publishDeath } from './trace.js';

export interface LiveSocketEvents {
  state: [state: LiveState, previous: LiveState];
  death: [death: Death];
}

type CloseHook = (death: Death) => void;
interface HookEntry {
  hook: CloseHook;
}

/** The errors lifeline raises itself map back to their cause when passed to destroy(). */
const causeOfCode: Readonly<Record<string, DeathCause>> = {
  LIFELINE_PEER_CLOSED: 'peer-fin',
  LIFELINE_CONNECTION_RESET: 'reset',
  LIFELINE_WRITE_STALL: 'write-stall',
  LIFELINE_READ_TIMEOUT: 'read-timeout',
  LIFELINE_KEEPALIVE_TIMEOUT: 'keepalive',
  LIFELINE_USER_TIMEOUT: 'user-timeout',
  LIFELINE_UNEXPECTED_DATA: 'idle-data',
  LIFELINE_CONNECT_FAILED: 'connect-failed',
  LIFELINE_SOCKET_CLOSED: 'local-close',
};

const resetCodes = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const wrapped = new WeakMap<net.Socket, LiveSocket>();

/** `host:port`, with an IPv6 address in brackets. */
function hostPort(host: string, port: number | undefined): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function endpointOf(socket: net.Socket, fallback = 'unknown peer'): string {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined ? fallback : hostPort(remoteAddress, remotePort);
}

/** Puts back a socket's own `name` property as it was, or removes ours so the prototype's applies again. */
function restore(socket: net.Socket, name: 'push' | 'destroy', own: PropertyDescriptor | undefined): void {
  if (own === undefined) Reflect.deleteProperty(socket, name);
  else Object.defineProperty(socket, name, own);
}

function errorCode(error: Error): string | undefined {
  const code: unknown = Reflect.get(error, 'code');
  return typeof code === 'string' ? code : undefined;
}

/**
 * A connection that knows when it is dead. One `state`, derived from events of both directions, and one
 * `death` record saying why and when it stopped being usable. Wraps sockets it dials (`connect`) and sockets
 * a server accepted or a driver created (`wrap`), plain TCP and TLS.
 *
 * It observes without changing the socket's semantics: it never adds a 'data' listener (that would switch a
 * driver's paused stream to flowing); it sees bytes and the peer's FIN where the socket hands them to its
 * own buffer (`push`), so a FIN is noticed the moment it arrives, even on a stream nobody reads; and it
 * classifies every teardown at `destroy`, while the descriptor is still open for the kernel to be asked.
 * When a driver layers TLS over the socket it watches, `upgradedTo` moves all of this onto the TLS socket.
 */
export class LiveSocket extends EventEmitter<LiveSocketEvents> {
  #socket: net.Socket;
  /** Undoes #instrument on the socket watched now. */
  #uninstrument: () => void;
  readonly #options: ResolvedOptions;
  #endpoint: string;
  #state: LiveState = 'connecting';
  #death: Death | undefined;
  #openedAt: number | undefined;
  /** The `lifeline:socket:connect` trace while connecting, when someone subscribes (trace.ts). */
  #connectTrace: ConnectTrace | undefined;
  #capabilities: SocketCapabilities | undefined;
  readonly #hooks = new Set<HookEntry>();
  #ready: Promise<void> | undefined;
  /** While a reply is awaited: its silence limit in ms (0: none). undefined: no reply awaited. */
  #replyTimeoutMs: number | undefined;
  #readTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  /** Write progress at the last stall check, and since when it has not changed. */
  #flushedAtCheck = -1;
  #stallSince: number | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  /** When the peer's FIN arrived. */
  #finAt: number | undefined;
  /** bytesWritten when bytes last arrived: attributes ETIMEDOUT when the kernel cannot be asked. */
  #writtenAtLastRead = 0;
  /** The owner's "reply overdue" watcher (watchReplies); see ReplyWatch in reply-watch.ts. */
  #watch: ReplyWatch | undefined;

  private constructor(socket: net.Socket, options: ResolvedOptions, endpoint: string, openEvent: string) {
    super();
    this.#socket = socket;
    this.#options = options;
    this.#endpoint = endpoint;
    wrapped.set(socket, this);
    this.#uninstrument = this.#instrument(socket);
    if (socket.destroyed) {
      this.#die(...this.#classify(socket.errored ?? undefined), 'closed');
    } else if (socket.connecting) {
      this.#connectTrace = connectStarted(this, endpoint);
      (socket as EventEmitter).once(openEvent, () => this.#onOpen());
    } else {
      this.#onOpen();
      // The FIN may have been consumed before we were attached.
      if (socket.readableEnded) this.#onFin();
    }
  }

  /** Dials host:port (TLS when `tls` is given) with allowHalfOpen, so a peer FIN stays observable. */
  static connect(options: LiveSocketConnectOptions): LiveSocket {
    const {
      host,
      port,
      tls: tlsOptions,
      connectTimeoutMs,
      socket: socketOptions,
    } = resolveConnectOptions(options);
    // tls.connect honours allowHalfOpen (it passes it to the TLSSocket) though its type omits it.
    const tlsConnect: (tls.ConnectionOptions & { allowHalfOpen: boolean }) | undefined = tlsOptions && {
      ...tlsOptions,
      host,
      port,
      allowHalfOpen: true,
    };
    let socket: net.Socket;
    try {
      socket = tlsConnect ? tls.connect(tlsConnect) : net.connect({ host, port, allowHalfOpen: true });
    } catch (error) {
      // Node refused the options before dialing (a bad `tls` field: a certificate, a signal, a version).
      const detail = error instanceof Error ? redact(error.message) : 'an unknown error';
      const option = tlsOptions === undefined ? 'options' : 'tls';
      throw new InvalidOptionError('LiveSocket.connect', option, `was refused by Node (${detail})`, options, {
        cause: error,
      });
    }
    const endpoint = hostPort(host, port);
    const live = new LiveSocket(socket, socketOptions, endpoint, tlsOptions ? 'secureConnect' : 'connect');
    if (connectTimeoutMs > 0 && live.#state === 'connecting') {
      live.#connectTimer = setTimeout(() => {
        const detail = `not connected after ${connectTimeoutMs} ms (connectTimeoutMs)`;
        live.#kill('connect-failed', new ConnectFailedError(endpoint, detail));
      }, connectTimeoutMs).unref();
    }
    return live;
  }

  /** Watches a socket someone else opened: one a server accepted, or one a driver created. Once per socket. */
  static wrap(socket: net.Socket, options?: LiveSocketOptions): LiveSocket {
    const resolved = resolveOptions(options, 'LiveSocket.wrap');
    if (!(socket instanceof net.Socket)) {
      throw new InvalidOptionError(
        'LiveSocket.wrap',
        'socket',
        'must be a net.Socket or tls.TLSSocket',
        socket,
      );
    }
    if (wrapped.has(socket)) {
      throw new InvalidOptionError(
        'LiveSocket.wrap',
        'socket',
        'is already wrapped (use LiveSocket.of)',
        socket,
      );
    }
    const openEvent = socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
    return new LiveSocket(socket, resolved, endpointOf(socket), openEvent);
  }

  /** The LiveSocket watching `socket` (or, after `upgradedTo`, the TLS socket over it), if any. */
  static of(socket: net.Socket): LiveSocket | undefined {
    return wrapped.get(socket);
  }

  /** The socket watched: the one wrapped or dialed, or the TLS socket over it after `upgradedTo`. */
  get socket(): net.Socket {
    return this.#socket;
  }

  get state(): LiveState {
    return this.#state;
  }

  get death(): Death | undefined {
    return this.#death;
  }

  /** Computed, never stored: only an open connection that has not died can carry a request. */
  get usable(): boolean {
    return this.#state === 'open';
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  /** `host:port` of the peer, as used in error messages. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Resolves once open; rejects with ConnectFailedError when the connection never opened. */
  ready(): Promise<void> {
    if (this.#openedAt !== undefined) return Promise.resolve();
    if (this.#death !== undefined) return Promise.reject(this.#connectError(this.#death));
    this.#ready ??= new Promise<void>((resolve, reject) => {
      const onState = (state: LiveState) => {
        if (state === 'open') resolve();
        else if (this.#death !== undefined) reject(this.#connectError(this.#death));
        else return;
        this.off('state', onState);
      };
      this.on('state', onState);
    });
    return this.#ready;
  }

  /** What keepalive and TCP_USER_TIMEOUT settings really took effect (known once open). */
  capabilities(): SocketCapabilities {
    if (this.#capabilities !== undefined) {
      return { ...this.#capabilities, reasons: [...this.#capabilities.reasons] };
    }
    return nothingApplied(
      this.#state === 'connecting'
        ? 'not applied yet: still connecting'
        : 'not applied: the connection never opened',
    );
  }

  /**
   * Runs `hook(death)` exactly once, when the connection dies, whoever closed it. Registered after death, it
   * runs once on the next microtask. Returns a function that unsubscribes.
   */
  onClose(hook: CloseHook): () => void {
    if (typeof hook !== 'function') {
      throw new InvalidOptionError('LiveSocket.onClose', 'hook', 'must be a function (death) => void', hook, {
        argument: true,
      });
    }
    const entry: HookEntry = { hook };
    this.#hooks.add(entry);
    const death = this.#death;
    if (death !== undefined) {
      queueMicrotask(() => {
        if (this.#hooks.delete(entry)) entry.hook(death);
      });
    }
    return () => {
      this.#hooks.delete(entry);
    };
  }

  /**
   * A request was sent and its reply is awaited. Until replyReceived(), arriving bytes are the reply (not
   * idle data), and a silence longer than `timeoutMs` (default: readTimeoutMs; 0: none) kills the
   * connection with 'read-timeout'. Call it before a server greeting on an idleData: 'reject' connection.
   */
  expectReply(timeoutMs?: number): void {
    if (timeoutMs === undefined) timeoutMs = this.#options.readTimeoutMs;
    else checkOption('LiveSocket.expectReply', 'timeoutMs', timeoutMs, timer);
    if (this.#state !== 'open' && this.#state !== 'connecting') return;
    this.#watch?.awaiting();
    const rearm = this.#readTimer !== undefined && this.#replyTimeoutMs === timeoutMs;
    this.#replyTimeoutMs = timeoutMs;
    if (rearm) {
      this.#readTimer?.refresh();
      return;
    }
    clearTimeout(this.#readTimer);
    this.#readTimer =
      timeoutMs === 0
        ? undefined
        : setTimeout(
            () => this.#kill('read-timeout', new ReadTimeoutError(this.#endpoint, timeoutMs)),
            timeoutMs,
          ).unref();
  }

  /** The awaited reply is complete: later bytes are idle data again. */
  replyReceived(): void {
    this.#watch?.received();
    this.#replyTimeoutMs = undefined;
    clearTimeout(this.#readTimer);
    this.#readTimer = undefined;
  }

  /**
   * Reports "reply overdue" without killing anything: while a reply is awaited (expectReply) and no byte
   * arrives for about `overdueMs` (between half of it and all of it), `onOverdue` is called, and again after
   * the delay it returns while the silence goes on (undefined: not again for this reply). The owner decides
   * what silence means — a protocol adapter asks the server on another connection (docs/socket.md). One
   * watcher per connection; costs one lazily re-armed timer per connection, none per request. Returns a
   * function that stops watching.
   */
  watchReplies(overdueMs: number, onOverdue: OverdueHandler): () => void {
    checkOption('LiveSocket.watchReplies', 'overdueMs', overdueMs, { ...timer, min: 2 });
    if (typeof onOverdue !== 'function') {
      throw new InvalidOptionError(
        'LiveSocket.watchReplies',
        'onOverdue',
        'must be a function (overdue) => number | undefined',
        onOverdue,
        { argument: true },
      );
    }
    this.#watch?.stop();
    const watch = new ReplyWatch(overdueMs, onOverdue);
    this.#watch = watch;
    if (this.#replyTimeoutMs !== undefined) watch.awaiting();
    return () => {
      watch.stop();
      if (this.#watch === watch) this.#watch = undefined;
    };
  }

  /**
   * Ends our side gracefully and resolves when the socket has closed; the peer gets closeTimeoutMs to finish
   * before the socket is destroyed. Records 'local-close' unless the connection had already died.
   */
  close(): Promise<void> {
    if (this.#state === 'connecting') {
      this.destroy();
    } else if (this.#state === 'open' || this.#state === 'peer-closed') {
      this.#die('local-close', new SocketClosedError(this.#endpoint, 'closed locally (close())'), 'closing');
      // Once both FINs are out nothing is left to say; destroying then does not wait for a reader that
      // will never drain the receive buffer (Node closes only after 'end' has been read).
      this.socket.end(() => {
        if (this.#finAt !== undefined) this.socket.destroy();
      });
      this.#closeTimer = setTimeout(() => this.socket.destroy(), this.#options.closeTimeoutMs).unref();
    }
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /**
   * Destroys the socket now. Without an error the death is 'local-close'; with one, its cause is `cause`
   * when given (e.g. 'heartbeat' from a heartbeat monitor), else derived from the error.
   */
  destroy(error?: Error, cause?: DeathCause): void {
    if (error !== undefined && !(error instanceof Error)) {
      throw new InvalidOptionError('LiveSocket.destroy', 'error', 'must be an Error or undefined', error, {
        argument: true,
      });
    }
    if (cause !== undefined && !(deathCauses as readonly unknown[]).includes(cause)) {
      const known = deathCauses.join(', ');
      throw new InvalidOptionError('LiveSocket.destroy', 'cause', `must be one of ${known}`, cause, {
        argument: true,
      });
    }
    if (this.#state === 'closed') return;
    const [derived, lifelineError] = this.#classify(error);
    this.#die(cause ?? derived, lifelineError, 'closed');
    this.socket.destroy(error);
  }

  /**
   * The socket's owner now reads and writes through `secure`, a TLS socket it layered over the socket watched
   * (STARTTLS, Postgres' SSLRequest: `tls.connect({ socket })`). The TLS layer takes over the descriptor's
   * reads, so FIN, resets, write progress and arriving bytes are only seen on `secure`: every observation
   * moves there, and nothing of ours stays on the old socket. State, death record, onClose hooks, an awaited
   * reply and `capabilities()` stay: keepalive and TCP_USER_TIMEOUT are set on the descriptor, which is
   * shared. Throws InvalidOptionError unless `secure` is a TLS socket over `socket` that nothing watches yet,
   * and UpgradeRefusedError while connecting or once dead.
   */
  upgradedTo(secure: tls.TLSSocket): void {
    const parent: unknown = secure instanceof tls.TLSSocket ? Reflect.get(secure, '_parent') : undefined;
    if (parent !== this.#socket || wrapped.has(secure)) {
      const requirement = wrapped.has(secure)
        ? 'is already watched by a LiveSocket'
        : "must be a tls.TLSSocket over this LiveSocket's socket (tls.connect({ socket }))";
      throw new InvalidOptionError('LiveSocket.upgradedTo', 'socket', requirement, secure);
    }
    if (this.#death !== undefined || this.#state === 'connecting') {
      throw new UpgradeRefusedError(this.#endpoint, this.#state, this.#death);
    }
    this.#uninstrument();
    this.#socket = secure;
    // The old socket stays mapped too: it is still this connection's, and must not be wrapped again.
    wrapped.set(secure, this);
    this.#uninstrument = this.#instrument(secure);
    // Byte counts restart on the TLS socket: progress is measured from here.
    this.#writtenAtLastRead = secure.bytesWritten;
    this.#flushedAtCheck = -1;
    this.#stallSince = undefined;
  }

  /**
   * Intercepts the socket's own push and destroy (see the class comment for why) and listens for its errors
   * and close. Returns what undoes all of it.
   */
  #instrument(socket: net.Socket): () => void {
    const ownPush = Object.getOwnPropertyDescriptor(socket, 'push');
    const ownDestroy = Object.getOwnPropertyDescriptor(socket, 'destroy');
    const push = socket.push;
    socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      this.#onPush(chunk);
      // A connection retired for idle data must not hand the stray bytes to its reader.
      if (socket.destroyed && chunk !== null) return false;
      return push.call(socket, chunk, encoding);
    };
    const destroy = socket.destroy;
    // Streams' destroy also takes a callback (destroy(err, cb)); pass along whatever the caller gave.
    socket.destroy = (...args: unknown[]): net.Socket => {
      const [error] = args;
      if (this.#state !== 'closed')
        this.#die(...this.#classify(error instanceof Error ? error : undefined), 'closed');
      return Reflect.apply(destroy, socket, args) as net.Socket;
    };
    // Every error is classified here or at destroy; without a listener a dialed socket would crash the process.
    const onError = (error: Error) => {
      if (this.#state !== 'closed') this.#die(...this.#classify(error), 'closed');
      if (!socket.destroyed) destroy.call(socket, error);
    };
    const onClose = () => {
      if (this.#state !== 'closed')
        this.#die('local-close', new SocketClosedError(this.#endpoint, 'closed'), 'closed');
      clearTimeout(this.#closeTimer);
    };
    socket.on('error', onError);
    socket.once('close', onClose);
    return () => {
      restore(socket, 'push', ownPush);
      restore(socket, 'destroy', ownDestroy);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  }

  #onOpen(): void {
    if (this.#state !== 'connecting') return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#openedAt = Date.now();
    this.#endpoint = endpointOf(this.socket, this.#endpoint);
    if (this.#connectTrace !== undefined) {
      connectSettled(this.#connectTrace, undefined);
      this.#connectTrace = undefined;
    }
    try {
      this.#capabilities = applyTcpOptions(this.socket, this.#options);
    } catch (error) {
      this.#capabilities = nothingApplied(`TCP options not applied: ${String(error)}`);
    }
    if (this.#options.writeStallMs > 0) {
      const period = Math.max(1, Math.floor(this.#options.writeStallMs / 4));
      this.#stallTimer = setInterval(() => this.#checkWrites(), period).unref();
    }
    this.#moveTo('open');
  }

  #onPush(chunk: unknown): void {
    if (chunk === null) {
      this.#onFin();
      return;
    }
    // Only without TCP_INFO: bytesWritten walks Node's write buffer, too costly for every chunk otherwise.
    if (!canReadTcpInfo()) this.#writtenAtLastRead = this.socket.bytesWritten;
    if (this.#replyTimeoutMs !== undefined) {
      this.#readTimer?.refresh();
      if (this.#watch !== undefined) this.#watch.progress++;
    } else if (this.#options.idleData === 'reject' && this.#state === 'open') {
      const bytes = typeof chunk === 'string' || Buffer.isBuffer(chunk) ? chunk.length : 0;
      this.#kill('idle-data', new UnexpectedDataError(this.#endpoint, bytes));
    }
  }

  #onFin(): void {
    this.#finAt = Date.now();
    if (this.#state === 'closing' && this.socket.writableFinished) {
      process.nextTick(() => this.socket.destroy());
      return;
    }
    if (this.#state !== 'open') return;
    if (this.socket.writableEnded) {
      // Our owner ended first (socket.end() directly); this FIN is the peer's answer.
      this.#die('local-close', new SocketClosedError(this.#endpoint, 'ended locally'), 'closing');
    } else {
      this.#die('peer-fin', new PeerClosedError(this.#endpoint), 'peer-closed');
    }
  }

  /**
   * No write progress for writeStallMs kills the connection. Progress is any change in bytes handed to the
   * kernel: Node's queue shrinking, or libuv's own queue shrinking during one large write.
   */
  #checkWrites(): void {
    const { socket } = this;
    const queued = socket.writableLength;
    if (queued === 0) {
      this.#stallSince = undefined;
      return;
    }
    const handle: unknown = Reflect.get(socket, '_handle');
    const libuvQueued: unknown =
      handle !== null && typeof handle === 'object' ? Reflect.get(handle, 'writeQueueSize') : 0;
    const flushed = socket.bytesWritten - queued - (typeof libuvQueued === 'number' ? libuvQueued : 0);
    const now = Date.now();
    if (this.#stallSince === undefined || flushed !== this.#flushedAtCheck) {
      this.#stallSince = now;
      this.#flushedAtCheck = flushed;
    } else if (now - this.#stallSince >= this.#options.writeStallMs) {
      this.#kill('write-stall', new WriteStallError(this.#endpoint, this.#options.writeStallMs, queued));
    }
  }

  /** Maps what ended the socket to a cause and a typed error. */
  #classify(error: Error | undefined): [DeathCause, LifelineError] {
    const endpoint = this.#endpoint;
    if (this.#openedAt === undefined) {
      if (error instanceof ConnectFailedError) return ['connect-failed', error];
      if (error === undefined) {
        return ['local-close', new SocketClosedError(endpoint, 'destroyed locally before it opened')];
      }
      return ['connect-failed', new ConnectFailedError(endpoint, redact(error.message), { cause: error })];
    }
    if (error === undefined) return ['local-close', new SocketClosedError(endpoint, 'destroyed locally')];
    if (error instanceof LifelineError) return [causeOfCode[error.code] ?? 'error', error];
    const code = errorCode(error);
    if (code !== undefined && resetCodes.has(code))
      return ['reset', new ConnectionResetError(endpoint, { cause: error })];
    if (code === 'ETIMEDOUT') return this.#classifyTimeout(error);
    const detail = `socket error: ${redact(error.message)}`;
    return ['error', new SocketClosedError(endpoint, detail, { cause: error })];
  }

  /**
   * Keepalive and TCP_USER_TIMEOUT deaths both surface as ETIMEDOUT. Unacknowledged data outstanding means
   * the retransmission (user) timeout; an idle connection means keepalive. The kernel is asked (TCP_INFO)
   * when it can be; otherwise: bytes still queued, or written since the last byte arrived, mean data.
   */
  #classifyTimeout(error: Error): [DeathCause, LifelineError] {
    const caps = this.#capabilities;
    const kind =
      this.socket.writableLength > 0
        ? 'retransmission'
        : (timeoutKind(this.socket) ??
          (this.socket.bytesWritten > this.#writtenAtLastRead ? 'retransmission' : 'keepalive'));
    if (kind === 'retransmission') {
      const setting =
        caps?.userTimeout === 'native'
          ? `TCP_USER_TIMEOUT ${caps.userTimeoutMs} ms`
          : "the kernel's retransmission limit (net.ipv4.tcp_retries2)";
      return ['user-timeout', new UserTimeoutError(this.#endpoint, setting, { cause: error })];
    }
    const setting =
      caps?.keepalive === 'native'
        ? `idle ${caps.keepaliveIdleMs} ms, then ${caps.keepaliveCount} probes ${caps.keepaliveIntervalMs} ms apart` +
          (caps.userTimeout === 'native' ? `, bounded by TCP_USER_TIMEOUT ${caps.userTimeoutMs} ms` : '')
        : `idle ${caps?.keepaliveIdleMs ?? '?'} ms, OS default probe interval and count`;
    return ['keepalive', new KeepaliveTimeoutError(this.#endpoint, setting, { cause: error })];
  }

  /** lifeline decided the connection is dead: record why, then destroy the socket with the error. */
  #kill(cause: DeathCause, error: LifelineError): void {
    if (this.#state === 'closed') return;
    this.#die(cause, error, 'closed');
    // The socket's owner (a driver) sees the same error on its own 'error' listener.
    this.socket.destroy(error);
  }

  /** Records the first death, moves to `next`, then tells listeners and runs the onClose hooks. */
  #die(cause: DeathCause, error: LifelineError, next: LiveState): void {
    if (this.#death !== undefined) {
      this.#moveTo(next);
      return;
    }
    const death: Death = { cause, at: Date.now(), error };
    this.#death = death;
    this.#clearTimers();
    this.#moveTo(next);
    this.emit('death', death);
    if (this.#connectTrace !== undefined) {
      connectSettled(this.#connectTrace, error);
      this.#connectTrace = undefined;
    }
    publishDeath(this, this.#endpoint, death, this.#openedAt, this.#detectMs(cause, death.at));
    const hooks = [...this.#hooks];
    this.#hooks.clear();
    // core/events.ts's rule: a failing hook does not stop the others; its error is rethrown on the next tick.
    for (const { hook } of hooks) notify(hook, death);
  }

  /** How long the fault behind `cause` went unnoticed, where a timer of ours measured it (trace.ts). */
  #detectMs(cause: DeathCause, at: number): number | undefined {
    if (cause === 'peer-fin' || cause === 'reset') return 0;
    if (cause === 'read-timeout') return this.#replyTimeoutMs;
    if (cause === 'write-stall') return this.#stallSince === undefined ? undefined : at - this.#stallSince;
    return undefined;
  }

  #moveTo(next: LiveState): void {
    const previous = this.#state;
    if (previous === next) return;
    if (!canTransition(previous, next)) {
      throw new Error(`LiveSocket bug: no transition from ${previous} to ${next}`);
    }
    this.#state = next;
    this.emit('state', next, previous);
  }

  #clearTimers(): void {
    this.#watch?.stop();
    clearTimeout(this.#readTimer);
    clearInterval(this.#stallTimer);
    clearTimeout(this.#connectTimer);
    this.#readTimer = undefined;
    this.#stallTimer = undefined;
    this.#connectTimer = undefined;
    this.#replyTimeoutMs = undefined;
  }

  #connectError(death: Death): ConnectFailedError {
    if (death.error instanceof ConnectFailedError) return death.error;
    const detail = death.error?.message ?? `it closed before opening (${death.cause})`;
    return new ConnectFailedError(this.#endpoint, detail, { cause: death.error });
  }
}
brand(LiveSocket, 'LiveSocket');
// Listeners of 'state' and 'death' under core/events.ts's rule: a throw cannot stop a transition half-way.
Object.defineProperty(LiveSocket.prototype, 'emit', {
  value: guardedEmit,
  configurable: true,
  writable: true,
});
