// One HTTP request through execute(): whether its body can be replayed and its failure retried.
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type Attempt, ExecAbortedError, execute } from '../../exec/index.js';
import { keepAliveHintMs, type SocketWatch } from './idle.js';
import type { HttpPolicy } from './options.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Parameters<NonNullable<Handler['onResponseStart']>>[2];

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A body undici writes synchronously with the headers, and that can be written again on a retry. */
function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
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
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}

function originOf(options: Dispatcher.DispatchOptions): string {
  const { origin } = options;
  return typeof origin === 'string' ? origin : origin === undefined ? '' : origin.origin;
}

/**
 * The attempt whose headers undici is about to write. undici calls onRequestStart and then, in the same
 * synchronous run, writes the request to the socket it chose; our connector's write hook reads this to
 * know which socket carries which request. Only set for bodies written synchronously with the headers.
 */
let writing: AttemptHandler | undefined;

export function takeWriting(): AttemptHandler | undefined {
  const attempt = writing;
  writing = undefined;
  return attempt;
}

/**
 * The controller the caller's handler holds for the whole request: it forwards to the attempt whose
 * response is being delivered (or, before one, to the attempt in flight).
 */
class CallController implements Controller {
  #paused = false;
  #target: Controller | undefined;
  rawHeaders: Controller['rawHeaders'] = null;
  rawTrailers: Controller['rawTrailers'] = null;

  constructor(private readonly call: RequestCall) {}

  set target(target: Controller | undefined) {
    this.#target = target;
    if (this.#paused) target?.pause();
  }

  get aborted(): boolean {
    return this.call.abortReason !== undefined || (this.#target?.aborted ?? false);
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.call.abortReason ?? this.#target?.reason ?? null;
  }

  abort(reason: Error): void {
    this.call.abort(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}

/** One request, as the caller dispatched it: one or more attempts under exec's execute(). */
export class RequestCall {
  readonly controller: CallController;
  abortReason: Error | undefined;
  #started = false;
  #settled = false;
  /** Attempts in flight (two while hedging). */
  readonly #live = new Set<AttemptHandler>();

  constructor(
    readonly dispatch: Dispatcher.Dispatch,
    readonly options: Dispatcher.DispatchOptions,
    readonly handler: Handler,
  ) {
    this.controller = new CallController(this);
  }

  run(policy: HttpPolicy): void {
    const { options } = this;
    const origin = policy.origin(originOf(options));
    const method = options.method.toUpperCase();
    const again = replayable(options.body);
    const safe = again && (IDEMPOTENT_METHODS.has(method) || hasHeader(options.headers, 'idempotency-key'));
    execute((attempt) => this.#attempt(attempt, again), safe ? origin.safe : origin.unsafe).then(
      () => undefined,
      (error: unknown) => this.#fail(error),
    );
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The caller aborted: end the attempt in flight; a retry not started yet will not start. */
  abort(reason: Error): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    for (const attempt of this.#live) attempt.controller?.abort(reason);
  }

  #attempt(attempt: Attempt, again: boolean): Promise<void> {
    if (this.abortReason !== undefined) return Promise.reject(this.abortReason);
    return new Promise<void>((resolve, reject) => {
      const handler = new AttemptHandler(this, attempt, again, resolve, reject);
      this.#live.add(handler);
      const left = attempt.deadline - Date.now();
      // undici's own headers timer ends the attempt at the deadline too, and retires its socket.
      const headersTimeout = this.options.headersTimeout;
      const options =
        headersTimeout == null || headersTimeout > left
          ? { ...this.options, headersTimeout: Math.max(1, left) }
          : this.options;
      try {
        this.dispatch(options, handler);
      } catch (error) {
        this.#live.delete(handler);
        reject(error);
      }
    });
  }

  /** The caller's onRequestStart, once, on the first attempt that reaches a socket. */
  started(controller: Controller, context: unknown): void {
    this.controller.target = controller;
    if (this.#started) return;
    this.#started = true;
    this.handler.onRequestStart?.(this.controller, context);
  }

  /** `attempt` got a response: it wins, and any other attempt is ended. */
  won(attempt: AttemptHandler): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.controller.target = attempt.controller;
    for (const other of this.#live) {
      if (other !== attempt) other.controller?.abort(new ExecAbortedError(undefined, 'another attempt won'));
    }
    this.#live.clear();
    this.#live.add(attempt);
    return true;
  }

  ended(attempt: AttemptHandler): void {
    this.#live.delete(attempt);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const reason = error instanceof ExecAbortedError && this.abortReason ? this.abortReason : error;
    const failure = reason instanceof Error ? reason : new Error(String(reason));
    // An attempt still running (the deadline passed while waiting for headers) ends, and so does its socket.
    for (const attempt of this.#live) attempt.controller?.abort(failure);
    this.#live.clear();
    this.handler.onResponseError?.(this.controller, failure);
  }
}

/** The handler undici calls for one attempt. Errors before a response go back to execute(), later ones to the caller. */
export class AttemptHandler implements Handler {
  controller: Controller | undefined;
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

  onRequestStart(controller: Controller, context: unknown): void {
    this.controller = controller;
    if (this.call.settled || this.call.abortReason !== undefined) {
      controller.abort(this.call.abortReason ?? new ExecAbortedError(undefined, 'the request already ended'));
      return;
    }
    // From here a byte of this attempt may leave: a failure is no longer `not-sent`.
    this.attempt.markSent();
    writing = this.bindable ? this : undefined;
    this.call.started(controller, context);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#release(undefined);
    if (!this.call.won(this)) return;
    this.resolve();
    this.call.handler.onRequestUpgrade?.(this.call.controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, message?: string): void {
    if (!this.call.won(this)) {
      controller.abort(new ExecAbortedError(undefined, 'another attempt won'));
      return;
    }
    this.#responded = true;
    this.#hintMs = keepAliveHintMs(headers['keep-alive']);
    this.resolve();
    const call = this.call.controller;
    call.rawHeaders = controller.rawHeaders;
    this.call.handler.onResponseStart?.(call, statusCode, headers, message);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.call.handler.onResponseData?.(this.call.controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#release(this.#hintMs);
    this.call.controller.rawTrailers = controller.rawTrailers;
    this.call.handler.onResponseEnd?.(this.call.controller, trailers);
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.#release(undefined);
    if (this.#responded) this.call.handler.onResponseError?.(this.call.controller, error);
    else this.reject(error);
  }

  #release(hintMs: number | undefined): void {
    this.call.ended(this);
    if (writing === this) writing = undefined;
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.free(hintMs);
  }
}
