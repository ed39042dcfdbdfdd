import { brand } from '../../core/brand.js';
import { LifelineError, redact } from '../../core/errors.js';
import { OutcomeUnknownError } from '../../exec/index.js';

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
