// One HTTP request through execute(): whether its body can be replayed and its failure retried.
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type Attempt, ExecAbortedError } from '../../exec/index.js';
import type { Caller } from './caller.js';
import { keepAliveHintMs, type SocketWatch } from './idle.js';
import type { Origin } from './options.js';

type Raw = Buffer[];

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A body undici writes synchronously with the headers, and that can be written again on a retry. */
export function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array;
}

function hasHeader(headers: Dispatcher.DispatchOptions['headers'], name: string): boolean {
  if (headers == null) return false;
  if (Array.isArray(headers)) {
    // undici's flat form [k, v, k, v] or pairs [[k, v]].
    for (let i = 0; i < headers.length; i++) {
      const item: unknown = headers[i];
      const key = Array.isArray(item) ? item[0] : i % 2 === 0 ? item : undefined;
      if (typeof key === 'string' && key.toLowerCase() === name) return true;
    }
    return false;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const entry of headers as Iterable<[string, unknown]>)
      if (entry[0].toLowerCase() === name) return true;
    return false;
  }
  for (const key of Object.keys(headers))
    if (key.length === name.length && key.toLowerCase() === name) return true;
  return false;
}

/** Whether a request may be sent twice: by its method, or an Idempotency-Key header. */
export function idempotent(options: Dispatcher.DispatchOptions): boolean {
  const method = options.method;
  return (
    IDEMPOTENT_METHODS.has(method) ||
    IDEMPOTENT_METHODS.has(method.toUpperCase()) ||
    hasHeader(options.headers, 'idempotency-key')
  );
}

export function originOf(options: Dispatcher.DispatchOptions): string {
  const { origin } = options;
  return typeof origin === 'string' ? origin : origin === undefined ? '' : origin.origin;
}

// The last Keep-Alive value seen (its bytes, copied) and what it meant: a server sends the same one on every
// response, so the value is compared byte by byte and decoded only when it changes.
let lastHint: Buffer | string | undefined;
let lastHintMs: number | undefined;

const KEEP_ALIVE = Buffer.from('keep-alive');

/** Whether a raw header name of 10 characters is `keep-alive`, in any case, without decoding it. */
function isKeepAlive(key: Buffer | string): boolean {
  if (typeof key === 'string') return key.toLowerCase() === 'keep-alive';
  // A letter's lower case is its byte | 0x20; `-` is 0x2d, and only 0x0d, which no header name holds, shares it.
  for (let j = 0; j < 10; j++) if (((key[j] as number) | 0x20) !== KEEP_ALIVE[j]) return false;
  return true;
}

function sameHint(value: Buffer | string): boolean {
  const last = lastHint;
  if (last === undefined || typeof value === 'string' || typeof last === 'string') return value === last;
  if (value.length !== last.length) return false;
  for (let j = 0; j < value.length; j++) if (value[j] !== last[j]) return false;
  return true;
}

/** The `Keep-Alive` header's timeout among raw response headers, in ms. */
export function hintOf(raw: Raw): number | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as Buffer | string;
    // 'keep-alive' is 10 characters and starts with k or K (Connection, also 10, does not).
    if (key.length !== 10) continue;
    const first = typeof key === 'string' ? key.charCodeAt(0) : key[0];
    if ((first !== 0x6b && first !== 0x4b) || !isKeepAlive(key)) continue;
    const value = raw[i + 1] as Buffer | string;
    if (!sameHint(value)) {
      lastHintMs = keepAliveHintMs(String(value));
      lastHint = typeof value === 'string' ? value : Buffer.from(value);
    }
    return lastHintMs;
  }
  return undefined;
}

/**
 * The attempt whose headers undici is about to write. undici calls onConnect and then, in the same
 * synchronous run, writes the request to the socket it chose; our connector's write hook reads this to
 * know which socket carries which request. Only set for bodies written synchronously with the headers.
 */
let writing: Writer | undefined;

/** An attempt that wants to know which socket its request is written on. */
export interface Writer {
  bind(watch: SocketWatch): void;
}

export function setWriting(writer: Writer | undefined): void {
  writing = writer;
}

/** Forgets `writer` if it is still the one being written (its attempt ended before any write). */
export function clearWriting(writer: Writer): void {
  if (writing === writer) writing = undefined;
}

export function takeWriting(): Writer | undefined {
  const attempt = writing;
  writing = undefined;
  return attempt;
}

/** An attempt that already failed before execute() took the request over (the fast path's first one). */
export interface FirstFailure {
  readonly error: unknown;
  /** Whether a byte of it may have left. */
  readonly sent: boolean;
  /** The request's deadline (epoch ms), kept across the handover. */
  readonly deadline: number;
}

function replay(attempt: Attempt, first: FirstFailure): Promise<void> {
  if (first.sent) attempt.markSent();
  return Promise.reject(first.error);
}

/**
 * One request, as the caller dispatched it: one or more attempts under exec's execute(). Used when a policy
 * has something to do per attempt (a breaker, hedging, a tracing subscriber) and when the fast path's first
 * attempt failed in a way that may be retried (fast.ts).
 */
export class RequestCall {
  abortReason: Error | undefined;
  #started: boolean;
  #settled = false;
  /** Attempts in flight (two while hedging). */
  #live: AttemptHandler | undefined;
  #hedge: AttemptHandler | undefined;

  constructor(
    readonly dispatch: Dispatcher.Dispatch,
    readonly options: Dispatcher.DispatchOptions,
    readonly caller: Caller,
    started = false,
    /** Where a retry goes: a connection of its own (lifeline's Agent), else `dispatch`. */
    readonly fresh: Dispatcher.Dispatch | undefined = undefined,
  ) {
    this.#started = started;
  }

  /**
   * Runs the request under `origin`'s executor for its kind (`safe`: idempotent with a replayable body).
   * `first`, when given, is a failed attempt replayed as attempt 1, so execute() classifies it, backs off and
   * retries exactly as if it had run it.
   */
  run(origin: Origin, safe: boolean, again: boolean, first?: FirstFailure): void {
    const exec = safe ? origin.safe : origin.unsafe;
    const done =
      first === undefined
        ? exec((attempt) => this.#attempt(attempt, again))
        : exec((attempt) => (attempt.number === 1 ? replay(attempt, first) : this.#attempt(attempt, again)), {
            deadline: first.deadline,
          });
    done.then(undefined, (error: unknown) => this.#fail(error));
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The caller aborted: end the attempt in flight; a retry not started yet will not start. */
  abort(reason: Error): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.#live?.abort?.(reason);
    this.#hedge?.abort?.(reason);
  }

  #attempt(attempt: Attempt, again: boolean): Promise<void> {
    if (this.abortReason !== undefined) return Promise.reject(this.abortReason);
    return new Promise<void>((resolve, reject) => {
      const handler = new AttemptHandler(this, attempt, again, resolve, reject);
      // A retry (an earlier attempt failed, none is live: not a hedge) goes on a new connection when the
      // Agent can open one: the pool may hold more sockets the server is closing, and a retry that picked
      // one would fail the same way.
      const dispatch =
        attempt.number > 1 && this.#live === undefined ? (this.fresh ?? this.dispatch) : this.dispatch;
      if (this.#live === undefined) this.#live = handler;
      else this.#hedge = handler;
      try {
        // undici takes handlers of its original API too (its own api-request is one); its types name only the newer.
        dispatch(this.options, handler as unknown as Dispatcher.DispatchHandler);
      } catch (error) {
        this.ended(handler);
        reject(error);
      }
    });
  }

  /** The caller's start, once, on the first attempt that reaches a socket. */
  started(context: unknown): void {
    if (this.#started) return;
    this.#started = true;
    this.caller.start((reason) => this.abort(reason), context);
  }

  /** `attempt` got a response: it wins, and any other attempt is ended. */
  won(attempt: AttemptHandler): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    const other = this.#live === attempt ? this.#hedge : this.#live;
    other?.abort?.(new ExecAbortedError(undefined, 'another attempt won'));
    this.#live = attempt;
    this.#hedge = undefined;
    return true;
  }

  ended(attempt: AttemptHandler): void {
    if (this.#live === attempt) {
      this.#live = this.#hedge;
      this.#hedge = undefined;
    } else if (this.#hedge === attempt) {
      this.#hedge = undefined;
    }
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const reason = error instanceof ExecAbortedError && this.abortReason ? this.abortReason : error;
    const failure = reason instanceof Error ? reason : new Error(String(reason));
    // An attempt still running (the deadline passed while waiting for headers) ends, and so does its socket.
    this.#live?.abort?.(failure);
    this.#hedge?.abort?.(failure);
    this.#live = this.#hedge = undefined;
    this.caller.error(failure);
  }
}

/**
 * The handler undici calls for one attempt, in undici's original handler API (what its Client speaks, so
 * nothing is converted on the way). Errors before a response go back to execute(), later ones to the caller.
 */
export class AttemptHandler implements Writer {
  abort: ((reason: Error) => void) | undefined;
  #watch: SocketWatch | undefined;
  #hintMs: number | undefined;
  #responded = false;

  constructor(
    private readonly call: RequestCall,
    private readonly attempt: Attempt,
    private readonly bindable: boolean,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /** The connector saw this attempt's request written on `watch`'s socket. */
  bind(watch: SocketWatch): void {
    this.#watch = watch;
    watch.busy();
  }

  onConnect(abort: (reason: Error) => void, context: unknown): void {
    this.abort = abort;
    const call = this.call;
    if (call.settled || call.abortReason !== undefined) {
      abort(call.abortReason ?? new ExecAbortedError(undefined, 'the request already ended'));
      return;
    }
    // From here a byte of this attempt may leave: a failure is no longer `not-sent`.
    this.attempt.markSent();
    writing = this.bindable ? this : undefined;
    call.started(context);
  }

  onUpgrade(statusCode: number, raw: Raw | null, socket: Duplex): void {
    this.#release(undefined);
    if (!this.call.won(this)) return;
    this.resolve();
    this.call.caller.upgrade(statusCode, raw, socket);
  }

  onHeaders(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean {
    if (!this.call.won(this)) {
      this.abort?.(new ExecAbortedError(undefined, 'another attempt won'));
      return false;
    }
    this.#responded = true;
    this.#hintMs = hintOf(raw);
    this.resolve();
    return this.call.caller.headers(statusCode, raw, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.call.caller.data(chunk);
  }

  onComplete(trailers: Raw | null): void {
    this.#release(this.#hintMs);
    this.call.caller.complete(trailers);
  }

  onError(error: Error): void {
    this.#release(undefined);
    if (this.#responded) this.call.caller.error(error);
    else this.reject(error);
  }

  #release(hintMs: number | undefined): void {
    this.call.ended(this);
    clearWriting(this);
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.free(hintMs);
  }
}
