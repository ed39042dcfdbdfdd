// A request's first attempt without execute(): one object, no promise; execute() takes over on a retryable failure.
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { deadlines } from '../../exec/deadlines.js';
import { DeadlineExceededError, ExecAbortedError, OutcomeUnknownError } from '../../exec/index.js';
import { classifyHttp } from '../../protocols/index.js';
import type { Caller } from './caller.js';
import type { Queued } from './deadline-queue.js';
import type { SocketWatch } from './idle.js';
import type { Origin } from './options.js';
import { clearWriting, hintOf, RequestCall, setWriting, type Writer } from './request.js';

type Raw = Buffer[];

/**
 * One request whose first attempt runs without exec's execute(): this object is the handler undici calls
 * (its original API, as AttemptHandler) and the request's state, and nothing else is allocated for it but
 * the abort function handed to the caller. Taken when execute() would have nothing to do on success: no
 * breaker to admit or record the attempt, no hedge to start beside it, no tracing subscriber (interceptor.ts
 * decides). What execute() would do is done here directly: the request joins its origin's deadline queue
 * (deadline-queue.ts: the same deadline, a FIFO instead of exec's shared timer), a success feeds the
 * origin's retry budget, and a failure before the response is classified with classifyHttp by what the
 * server could have seen. A failure that may be retried is handed to RequestCall,
 * which replays it as attempt 1 under execute() with the same deadline, so the backoff, the budget and every
 * later attempt are execute()'s, unchanged.
 */
export class FastCall implements Queued, Writer {
  readonly deadline: number;
  /** undici's abort for the attempt, once it reached a socket. */
  #abort: ((reason: Error) => void) | undefined = undefined;
  #watch: SocketWatch | undefined = undefined;
  #hintMs: number | undefined = undefined;
  #sent = false;
  #started = false;
  #responded = false;
  /** The caller was told how the request ended (error), or execute() took it over. */
  #over = false;
  #abortReason: Error | undefined = undefined;
  /** The request under execute(), after the first attempt failed in a way that may be retried. */
  #then: RequestCall | undefined = undefined;

  constructor(
    private readonly dispatch: Dispatcher.Dispatch,
    private readonly options: Dispatcher.DispatchOptions,
    private readonly caller: Caller,
    private readonly origin: Origin,
    private readonly safe: boolean,
    /** The body can be written again, synchronously with the headers (so its socket can be known). */
    private readonly again: boolean,
    startedAt: number,
    /** Where a retry goes (RequestCall): a connection of its own, when the Agent can open one. */
    private readonly fresh: Dispatcher.Dispatch | undefined = undefined,
  ) {
    this.deadline = startedAt + origin.deadlineMs;
  }

  start(): void {
    this.origin.deadlines.add(this);
    try {
      // undici takes handlers of its original API too (its own api-request is one); its types name only the newer.
      this.dispatch(this.options, this as unknown as Dispatcher.DispatchHandler);
    } catch (error) {
      this.onError(error as Error);
    }
  }

  /** The caller aborted: end the attempt in flight, or the one execute() runs now. */
  abort(reason: Error): void {
    if (this.#then !== undefined) {
      this.#then.abort(reason);
      return;
    }
    if (this.#abortReason !== undefined || this.#over) return;
    this.#abortReason = reason;
    // Not yet on a socket: onConnect aborts it when undici gets to it.
    this.#abort?.(reason);
  }

  /** Waiting for its response: what the origin's deadline queue expires. */
  get pending(): boolean {
    return !this.#responded && !this.#over;
  }

  /** The deadline passed before the response headers: the request ends, and the attempt with its socket. */
  expire(): void {
    if (this.#over || this.#responded) return;
    this.#over = true;
    const error = new DeadlineExceededError(this.origin.deadlineMs, 1);
    this.#abort?.(error);
    this.caller.error(error);
  }

  /** The connector saw this attempt's request written on `watch`'s socket. */
  bind(watch: SocketWatch): void {
    this.#watch = watch;
    watch.busy();
  }

  onConnect(abort: (reason: Error) => void, context: unknown): void {
    this.#abort = abort;
    if (this.#over || this.#abortReason !== undefined) {
      abort(this.#abortReason ?? new ExecAbortedError(undefined, 'the request already ended'));
      return;
    }
    // From here a byte of this attempt may leave: a failure is no longer `not-sent`.
    this.#sent = true;
    setWriting(this.again ? this : undefined);
    if (!this.#started) {
      this.#started = true;
      this.caller.start((reason) => this.abort(reason), context);
    }
  }

  onHeaders(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean {
    if (this.#over) {
      this.#abort?.(new ExecAbortedError(undefined, 'the request already ended'));
      return false;
    }
    this.#responded = true;
    this.#succeeded();
    this.#hintMs = hintOf(raw);
    return this.caller.headers(statusCode, raw, resume, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.caller.data(chunk);
  }

  onComplete(trailers: Raw | null): void {
    this.#release(this.#hintMs);
    this.caller.complete(trailers);
  }

  onUpgrade(statusCode: number, raw: Raw | null, socket: Duplex): void {
    this.#release(undefined);
    if (this.#over) return;
    this.#responded = true;
    this.#succeeded();
    this.caller.upgrade(statusCode, raw, socket);
  }

  onError(error: Error): void {
    this.#release(undefined);
    if (this.#responded) {
      // The response had started: it is the caller's, errors included; a body is never replayed.
      this.caller.error(error);
      return;
    }
    if (this.#over) return;
    this.#over = true;
    this.origin.deadlines.done();
    if (this.#abortReason !== undefined) {
      this.caller.error(this.#abortReason);
      return;
    }
    this.#failed(error);
  }

  /** What execute() does for a success with no breaker and no hedge: leave the deadline, feed the budget. */
  #succeeded(): void {
    this.origin.deadlines.done();
    this.origin.budget?.deposit(deadlines.now());
  }

  /** The first attempt failed before a response: end the request, or hand it to execute() to retry. */
  #failed(error: Error): void {
    let retryable: boolean;
    let unknown = false;
    try {
      const classification = classifyHttp(error, this.#sent);
      retryable = classification.kind !== 'rejected' || classification.transient;
      unknown = classification.kind === 'outcome-unknown';
    } catch {
      // A broken classifier must not turn a failure into a hang (as in execute()).
      retryable = false;
    }
    // In execute()'s order: not retryable, then written without a response on a request not safe to repeat,
    // then out of attempts.
    if (!retryable) {
      this.caller.error(error);
      return;
    }
    if (unknown && !this.safe) {
      this.caller.error(new OutcomeUnknownError(1, error));
      return;
    }
    if (this.origin.maxAttempts <= 1) {
      this.caller.error(error);
      return;
    }
    const call = new RequestCall(this.dispatch, this.options, this.caller, this.#started, this.fresh);
    this.#then = call;
    call.run(this.origin, this.safe, this.again, {
      error,
      sent: this.#sent,
      deadline: this.deadline,
    });
  }

  #release(hintMs: number | undefined): void {
    clearWriting(this);
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.free(hintMs);
  }
}
