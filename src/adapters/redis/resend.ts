// After a lost Redis connection: which in-flight commands may be re-sent, and the errors for the rest.
import { brand } from '../../core/brand.js';
import { LifelineError } from '../../core/errors.js';
import { isSafeToResend } from '../../protocols/redis-commands.js';
import { describe, RedisConnectionClosedError, RedisOutcomeUnknownError } from './errors.js';

/** What ioredis keeps for a command it wrote or queued (its commandQueue / offlineQueue items). */
export interface QueuedCommand {
  command: DriverCommand;
  stream?: unknown;
  select: number;
}

/** The parts of ioredis's Command that lifeline reads. */
export interface DriverCommand {
  name: string;
  args: unknown[];
  pipelineIndex?: number;
  inTransaction?: boolean;
  reject(error: Error): void;
  [IDEMPOTENT]?: boolean;
}

/** Set on a command the caller declared idempotent (redis.idempotent().incr(…)). */
export const IDEMPOTENT: unique symbol = Symbol('lifeline.redis.idempotent');

/** The subset of denque lifeline uses. */
export interface CommandDeque {
  readonly length: number;
  toArray(): QueuedCommand[];
  clear(): void;
  push(item: QueuedCommand): number;
}

/**
 * A read that was in a pipeline (or a transaction) together with a write whose outcome is unknown. The
 * pipeline cannot be sent again without the write, so this command was not sent again either; it changed
 * nothing, so running it again is safe.
 */
export class RedisPipelineLostError extends LifelineError {
  readonly command: string;

  constructor(command: string, endpoint: string, cause: unknown) {
    super(
      'LIFELINE_REDIS_PIPELINE_LOST',
      `${command.toUpperCase()} was in a pipeline whose connection to ${endpoint} was lost before its reply, ` +
        `together with a write whose outcome is unknown, so the pipeline was not sent again (${describe(cause)}). ` +
        'This command changed nothing: run it again',
      { cause },
    );
    this.command = command;
  }
}
brand(RedisPipelineLostError, 'RedisPipelineLostError');

const TRANSACTION_MARKERS = new Set(['multi', 'exec', 'discard']);

function safe(command: DriverCommand, declared: ReadonlySet<string>): boolean {
  if (command[IDEMPOTENT] === true) return true;
  const name = command.name.toLowerCase();
  return TRANSACTION_MARKERS.has(name) || isSafeToResend(name, command.args, declared);
}

/**
 * Splits unanswered commands into what must go (or fail) together: one pipeline (its pieces share the
 * pseudo-stream ioredis writes them through), one MULTI … EXEC, or one command.
 */
export function units(items: readonly QueuedCommand[]): QueuedCommand[][] {
  const out: QueuedCommand[][] = [];
  let transaction: QueuedCommand[] | undefined;
  for (const item of items) {
    const last = out[out.length - 1];
    const name = item.command.name.toLowerCase();
    if (transaction !== undefined) {
      transaction.push(item);
      if (name === 'exec' || name === 'discard') transaction = undefined;
    } else if (item.stream !== undefined && last !== undefined && last[0]?.stream === item.stream) {
      last.push(item);
    } else {
      const unit = [item];
      out.push(unit);
      if (name === 'multi' && item.stream === undefined) transaction = unit;
    }
  }
  return out;
}

function isTransaction(unit: readonly QueuedCommand[]): boolean {
  return unit.some((item) => item.command.name.toLowerCase() === 'multi');
}

/** A pipeline whose first pieces were answered already: what is left cannot be sent again as it was. */
function isIncomplete(unit: readonly QueuedCommand[]): boolean {
  const first = unit[0]?.command.pipelineIndex;
  return first !== undefined && first > 0;
}

/**
 * The connection carrying `queue` (written, unanswered commands) was lost. Keeps in `queue` the units
 * that are safe to send again on the next connection (every command read-only or idempotent, a pipeline or
 * transaction whole); rejects the others: a write with RedisOutcomeUnknownError, a transaction as a whole
 * (every piece, EXEC included), a read that was bound to such a write with RedisPipelineLostError.
 */
export function keepSafeUnits(
  queue: CommandDeque,
  declared: ReadonlySet<string>,
  endpoint: string,
  cause: unknown,
): void {
  if (queue.length === 0) return;
  const all = units(queue.toArray());
  queue.clear();
  for (const unit of all) {
    const resendable = !isIncomplete(unit) && unit.every((item) => safe(item.command, declared));
    if (resendable) {
      for (const item of unit) queue.push(item);
      continue;
    }
    if (isTransaction(unit)) {
      const error = new RedisOutcomeUnknownError(
        'exec',
        endpoint,
        cause,
        'a MULTI … EXEC transaction was sent',
      );
      for (const item of unit) item.command.reject(error);
      continue;
    }
    for (const item of unit) {
      const { command } = item;
      const name = command.name.toLowerCase();
      command.reject(
        safe(command, declared)
          ? new RedisPipelineLostError(name, endpoint, cause)
          : new RedisOutcomeUnknownError(name, endpoint, cause),
      );
    }
  }
}

/**
 * The client closed for good: every command still held fails now with a typed error, instead of the
 * driver's generic one (or, for commands kept to be sent again, never).
 */
export function failAll(
  queue: CommandDeque | null | undefined,
  sent: boolean,
  declared: ReadonlySet<string>,
  endpoint: string,
  cause: unknown,
): void {
  if (queue === null || queue === undefined || queue.length === 0) return;
  const items = queue.toArray();
  queue.clear();
  for (const { command } of items) {
    const name = command.name.toLowerCase();
    command.reject(
      sent && !safe(command, declared)
        ? new RedisOutcomeUnknownError(name, endpoint, cause)
        : new RedisConnectionClosedError(name, endpoint, sent, cause),
    );
  }
}
