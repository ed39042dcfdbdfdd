// The caller's handler in either of undici's handler APIs, passed through without re-parsing headers.
import type { Duplex } from 'node:stream';
import { type Dispatcher, util } from 'undici';

type Raw = Buffer[];
type Controller = Dispatcher.DispatchController;

/**
 * The caller's handler, whichever of undici's two handler APIs it speaks. undici's Client and api-request
 * speak the original one (raw header buffers): lifeline's Agent passes those through untouched, so no
 * header is parsed or rebuilt on its way; a handler of the newer API (an interceptor chain's) gets parsed
 * headers and a controller.
 */
export interface Caller {
  start(abort: (reason: Error) => void, context: unknown): void;
  /** Returns false when the caller wants the body paused (it calls `resume` later). */
  headers(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean;
  data(chunk: Buffer): boolean;
  complete(trailers: Raw | null): void;
  error(error: Error): void;
  upgrade(statusCode: number, raw: Raw | null, socket: Duplex): void;
}

interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onHeaders?(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Raw | null): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, raw: Raw | null, socket: Duplex): void;
}

class LegacyCaller implements Caller {
  constructor(private readonly handler: LegacyHandler) {}

  start(abort: (reason: Error) => void, context: unknown): void {
    this.handler.onConnect?.(abort as (reason?: Error) => void, context);
  }

  headers(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean {
    return this.handler.onHeaders?.(statusCode, raw, resume, statusText) !== false;
  }

  data(chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) !== false;
  }

  complete(trailers: Raw | null): void {
    this.handler.onComplete?.(trailers);
  }

  error(error: Error): void {
    this.handler.onError?.(error);
  }

  upgrade(statusCode: number, raw: Raw | null, socket: Duplex): void {
    this.handler.onUpgrade?.(statusCode, raw, socket);
  }
}

/** The controller a newer-API handler holds for the whole request, across attempts. */
class CallerController implements Controller {
  paused = false;
  abortReason: Error | null = null;
  resumeBody: (() => void) | undefined;
  abortAttempt: ((reason: Error) => void) | undefined;
  rawHeaders: Controller['rawHeaders'] = null;
  rawTrailers: Controller['rawTrailers'] = null;

  get aborted(): boolean {
    return this.abortReason !== null;
  }

  get reason(): Error | null {
    return this.abortReason;
  }

  abort(reason: Error): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason;
    this.abortAttempt?.(reason);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeBody?.();
  }
}

class ModernCaller implements Caller {
  readonly #controller = new CallerController();

  constructor(private readonly handler: Dispatcher.DispatchHandler) {}

  start(abort: (reason: Error) => void, context: unknown): void {
    this.#controller.abortAttempt = abort;
    this.handler.onRequestStart?.(this.#controller, context);
  }

  headers(statusCode: number, raw: Raw, resume: () => void, statusText: string): boolean {
    const controller = this.#controller;
    controller.resumeBody = resume;
    controller.rawHeaders = raw;
    this.handler.onResponseStart?.(controller, statusCode, util.parseHeaders(raw), statusText);
    return !controller.paused;
  }

  data(chunk: Buffer): boolean {
    this.handler.onResponseData?.(this.#controller, chunk);
    return !this.#controller.paused;
  }

  complete(trailers: Raw | null): void {
    this.#controller.rawTrailers = trailers;
    this.handler.onResponseEnd?.(this.#controller, trailers === null ? {} : util.parseHeaders(trailers));
  }

  error(error: Error): void {
    this.handler.onResponseError?.(this.#controller, error);
  }

  upgrade(statusCode: number, raw: Raw | null, socket: Duplex): void {
    const headers = raw === null ? {} : util.parseHeaders(raw);
    this.handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }
}

export function callerFor(handler: Dispatcher.DispatchHandler): Caller {
  return typeof handler.onRequestStart === 'function' ||
    typeof handler.onResponseStart === 'function' ||
    typeof handler.onResponseError === 'function'
    ? new ModernCaller(handler)
    : new LegacyCaller(handler as LegacyHandler);
}
