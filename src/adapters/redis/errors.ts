// lifeline-net/redis's typed errors: outcome unknown, connection closed, resends exhausted, deadline passed.
import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';
import { markLost } from '../../core/lost.js';
import { DeadlineExceededError, OutcomeUnknownError } from '../../exec/index.js';

/** A short, password-free description of what went wrong underneath. */
export function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code: unknown = Reflect.get(cause, 'code');
    const text = redact(cause.message);
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
  }
  return redact(String(cause));
}

/**
 * A command was written to a connection that was lost before its reply. It may or may not have run on the
 * server, and it is not safe to run twice (INCR, LPUSH, XADD, EVAL…), so lifeline did not send it again.
 * Same code and class as every other outcome-unknown failure in lifeline.
 */
export class RedisOutcomeUnknownError extends OutcomeUnknownError {
  /** The command's name (`incr`, `client|kill`, `exec` for a transaction). */
  readonly command: string;

  constructor(command: string, endpoint: string, cause: unknown, what = `${command.toUpperCase()} was sent`) {
    super(1, cause);
    this.command = command;
    this.message =
      `${what} to ${endpoint} and the connection was lost before its reply (${describe(cause)}); it may or ` +
      'may not have been applied, so lifeline did not send it again. Check whether it took effect before ' +
      "repeating it, or declare it idempotent (redis.idempotent().<command>(…) or the 'idempotentCommands' option) " +
      'if running it twice is harmless';
  }
}
brand(RedisOutcomeUnknownError, 'RedisOutcomeUnknownError');

/**
 * The connection closed for good (quit(), disconnect(), or reconnection given up) while the command was
 * queued or in flight. A queued command was never sent; a read in flight changed nothing.
 */
export class RedisConnectionClosedError extends LifelineError {
  readonly command: string;

  constructor(command: string, endpoint: string, sent: boolean, cause: unknown) {
    super(
      'LIFELINE_REDIS_CONNECTION_CLOSED',
      `${command.toUpperCase()} ${sent ? 'was in flight' : 'was never sent'}: the connection to ${endpoint} ` +
        `closed and will not reconnect (${describe(cause)}). Create a new client, or let the retry strategy ` +
        'reconnect (retryStrategy / socket.reconnectStrategy must return a delay)',
      { cause },
    );
    this.command = command;
  }
}
brand(RedisConnectionClosedError, 'RedisConnectionClosedError');

/** A safe command kept failing on connection loss until its retry bound ran out (node-redis clients). */
export class RedisRetriesExhaustedError extends LifelineError {
  readonly command: string;

  constructor(command: string, endpoint: string, attempts: number, cause: unknown) {
    super(
      'LIFELINE_REDIS_RETRIES_EXHAUSTED',
      `${command.toUpperCase()} lost its connection to ${endpoint} ${attempts} times in a row (${describe(cause)}); ` +
        "lifeline stopped re-sending it. Check the server and the network, or raise 'maxResends'",
      { cause },
    );
    this.command = command;
  }
}
brand(RedisRetriesExhaustedError, 'RedisRetriesExhaustedError');

/**
 * A node-redis command (resends included) did not settle within `commandDeadlineMs`. `sent` says whether it
 * may have reached the server: false when it was still queued in the driver and was withdrawn (not applied);
 * true when it was written (a read changed nothing; a write may or may not have been applied, and a late
 * reply is ignored). Same code and class as every other deadline failure in lifeline.
 */
export class RedisDeadlineExceededError extends DeadlineExceededError {
  readonly command: string;
  /** Whether the command may have reached the server. */
  readonly sent: boolean;

  constructor(
    command: string,
    endpoint: string,
    deadlineMs: number,
    attempts: number,
    sent: boolean,
    safe: boolean,
    cause: unknown,
  ) {
    super(deadlineMs, attempts, cause);
    this.command = command;
    this.sent = sent;
    const name = command.toUpperCase();
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    const why = cause === undefined ? '' : ` (last failure: ${describe(cause)})`;
    const what = !sent
      ? `was not written to ${endpoint} before its deadline of ${deadlineMs} ms passed${why}; lifeline withdrew ` +
        'it, so it was not applied and can be run again'
      : safe
        ? `got no reply from ${endpoint} within its deadline of ${deadlineMs} ms (${tries})${why}; it changes ` +
          'nothing (read-only or idempotent), so it can be run again'
        : `was sent to ${endpoint} and no reply came within its deadline of ${deadlineMs} ms${why}; it may or ` +
          'may not have been applied (a late reply is ignored), so check whether it took effect before repeating it';
    this.message =
      `${name} ${what}. Check the server and the network, or raise 'commandDeadlineMs' if the command is ` +
      'legitimately slow';
    // exec's classifiers: withdrawn is safe to retry; sent is outcome-unknown unless declared idempotent.
    markLost(this, sent ? 'sent' : 'not-sent');
  }
}
brand(RedisDeadlineExceededError, 'RedisDeadlineExceededError');
