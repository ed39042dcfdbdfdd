import type net from 'node:net';
import { coarseNow, preciseNow } from '../../core/time.js';
import { LiveSocket as Live, type LiveSocket, type LiveSocketOptions } from '../../socket/index.js';

/**
 * How long before a server's idle cut a pooled socket stops being reused: a quarter of the cut, at least
 * 10 ms and at most 2 s. A request written in that window would cross the server's FIN on the wire (the
 * keep-alive reuse race), so the socket is closed by us first, while nobody uses it.
 */
export function reuseLimitMs(cutMs: number): number {
  return cutMs - Math.min(2000, Math.max(10, cutMs / 4));
}

/** `Keep-Alive: timeout=N` as milliseconds, or undefined when absent or malformed. */
export function keepAliveHintMs(value: unknown): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return undefined;
  const match = /(?:^|[\s,;])timeout=(\d+)/i.exec(text);
  return match === null ? undefined : Number(match[1]) * 1000;
}

/**
 * What lifeline knows about one origin's idle cut: the `idleCutMs` option, or the shortest idle time after
 * which the server was seen closing an idle socket (a FIN or a reset with no request in flight).
 */
export class OriginIdle {
  #cutMs: number | undefined;
  readonly #learn: boolean;

  constructor(cutMs: number | undefined, learn: boolean) {
    this.#cutMs = cutMs;
    this.#learn = learn;
  }

  /** The idle cut in ms, when known. */
  get cutMs(): number | undefined {
    return this.#cutMs;
  }

  /** An idle socket of this origin was closed by the server after `idleMs` of idleness. */
  sawClose(idleMs: number): void {
    if (!this.#learn || idleMs < 1) return;
    if (this.#cutMs === undefined || idleMs < this.#cutMs) this.#cutMs = idleMs;
  }
}

const watches = new WeakMap<net.Socket, SocketWatch>();

/**
 * One pooled socket under watch: its LiveSocket, whether a request is on it, and since when it is idle.
 * While idle it is closed at the reuse limit of the server's hint (`Keep-Alive: timeout=`) or of the
 * origin's learned cut, whichever is known and shorter; a server close seen while idle teaches the origin.
 */
export class SocketWatch {
  readonly live: LiveSocket;
  #inFlight = 0;
  #idleSince: number;
  #hintMs: number | undefined;
  /** One timer per socket, armed once per reuse limit (not made or refreshed per request: the hot path). */
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;

  private constructor(
    readonly socket: net.Socket,
    readonly origin: OriginIdle,
    options: LiveSocketOptions,
  ) {
    this.live = Live.of(socket) ?? Live.wrap(socket, options);
    this.#idleSince = coarseNow();
    this.live.onClose((death) => {
      clearTimeout(this.#timer);
      if (this.#inFlight === 0 && (death.cause === 'peer-fin' || death.cause === 'reset')) {
        // Read now, on the idle clock's own scale (lifeline's monotonic clock, not death.at's Date.now()).
        this.origin.sawClose(preciseNow() - this.#idleSince);
      }
      // A socket the server closed while pooled leaves the pool now, not when a request trips over it.
      if (!socket.destroyed) socket.destroy();
    });
  }

  static watch(socket: net.Socket, origin: OriginIdle, options: LiveSocketOptions): SocketWatch {
    let watch = watches.get(socket);
    if (watch === undefined) {
      watch = new SocketWatch(socket, origin, options);
      watches.set(socket, watch);
    }
    return watch;
  }

  static of(socket: net.Socket): SocketWatch | undefined {
    return watches.get(socket);
  }

  get idle(): boolean {
    return this.#inFlight === 0;
  }

  /** A request now uses the socket. */
  busy(): void {
    // The idle timer keeps running: when it fires it checks the socket is still idle (see #expire).
    this.#inFlight++;
  }

  /** A request on the socket ended; `hintMs` is the response's Keep-Alive timeout, if it sent one. */
  free(hintMs: number | undefined): void {
    if (this.#inFlight > 0) this.#inFlight--;
    if (hintMs !== undefined) this.#hintMs = hintMs;
    if (this.#inFlight > 0) return;
    this.#idleSince = coarseNow();
    this.#arm();
  }

  /** Starts the idle clock of a socket known to be idle (node:http tells us when a socket goes free). */
  rested(hintMs: number | undefined): void {
    this.#inFlight = 0;
    if (hintMs !== undefined) this.#hintMs = hintMs;
    this.#idleSince = coarseNow();
    this.#arm();
  }

  /** Whether the socket may carry another request: alive, and not past its reuse limit. */
  get reusable(): boolean {
    if (!this.live.usable) return false;
    const limit = this.#limitMs();
    return limit === undefined || coarseNow() - this.#idleSince < limit;
  }

  #limitMs(): number | undefined {
    const cut = this.origin.cutMs;
    const hint = this.#hintMs;
    const shortest = cut === undefined ? hint : hint === undefined ? cut : Math.min(cut, hint);
    return shortest === undefined ? undefined : Math.max(0, reuseLimitMs(shortest));
  }

  #arm(): void {
    const limit = this.#limitMs();
    if (limit === undefined) return;
    // A timer for this limit is pending: it is left as it is (not refreshed on every request, a cost on the
    // hot path). When it fires it measures the idle time from the latest free() and waits out the rest.
    if (this.#timer !== undefined && this.#timerMs === limit) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(expire, limit, this).unref();
    this.#timerMs = limit;
  }

  /** @internal The idle timer fired: close the socket if it has been idle for its whole reuse limit. */
  expire(): void {
    if (this.#inFlight > 0) {
      // Busy: the next free() arms a new timer.
      this.#timer = undefined;
      return;
    }
    const left = this.#timerMs - (preciseNow() - this.#idleSince);
    if (left <= 0) {
      this.socket.destroy();
      return;
    }
    // The socket was used since the timer was armed (or the loop's clock ran behind ours): wait out the
    // rest with a one-off timer; a free() before it fires arms a new one.
    this.#timerMs = -1;
    this.#timer = setTimeout(expire, left, this).unref();
  }
}

function expire(watch: SocketWatch): void {
  watch.expire();
}
