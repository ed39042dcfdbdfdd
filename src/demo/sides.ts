// The two ways of running the same application code that the demo compares.
//
// naive: pg.Pool as most services run it — the defaults, plus the one thing everybody learns the hard
// way: an 'error' listener, because without it an idle client's death is an uncaught 'error' event that
// crashes the process (we count each one). Its app code retries a failed write twice, the usual
// hand-written loop ("a half-dozen retries and it completes", incident 3).
//
// lifeline: lifeline-net/pg's Pool configured as the docs tell a user to: short keepalive and user timeout,
// a deadline on every query, reads declared idempotent so a read on a connection that died is re-run
// on another, writes not (a write whose outcome is unknown is reported, never silently re-sent).

import pg from 'pg';
import {
  AcquireTimeoutError,
  DeadlineExceededError,
  OutcomeUnknownError,
  PgConnectionLostError,
  Pool,
} from '../adapters/pg/index.js';
import { type Classification, classifyPostgres, type ExecuteOptions, execute } from '../exec/index.js';
import type { Recorder } from './metrics.js';
import type { AppSide } from './workload.js';

export type SideName = 'naive' | 'lifeline';

export interface Side {
  readonly name: SideName;
  readonly app: AppSide;
  /** The longest any op can take, when the side promises one (a deadline); undefined: no promise. */
  readonly maxOpMs: number | undefined;
  /** Ends the pool. May hang on a client stuck in a dead connection: callers bound it. */
  close(): Promise<void>;
}

export interface SideOptions {
  /** Connection string through this side's fault proxy. */
  url: string;
  recorder: Recorder;
  poolSize: number;
  /** Upper bound on one query, retries included (lifeline side). */
  queryDeadlineMs: number;
  /** Upper bound on one attempt of a read (lifeline side). */
  attemptDeadlineMs: number;
}

const NAIVE_WRITE_ATTEMPTS = 3;

export function naiveSide(options: SideOptions): Side {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  pool.on('error', () => {
    options.recorder.uncaughtErrorEvents++;
  });
  return {
    name: 'naive',
    maxOpMs: undefined,
    app: {
      async read(sql) {
        await pool.query(sql);
      },
      async write(sql) {
        for (let attempt = 1; ; attempt++) {
          try {
            await pool.query(sql);
            return;
          } catch (error) {
            if (attempt >= NAIVE_WRITE_ATTEMPTS) throw error;
          }
        }
      },
    },
    close: () => pool.end(),
  };
}

/**
 * For an idempotent read, an attempt that hit its own deadline is just another outcome-unknown, and one
 * that found no free connection in time never left: both are worth another try within the read's deadline.
 */
function classifyRead(error: unknown, sent: boolean): Classification {
  if (error instanceof AcquireTimeoutError) return { kind: 'not-sent' };
  if (
    error instanceof DeadlineExceededError ||
    error instanceof OutcomeUnknownError ||
    error instanceof PgConnectionLostError
  ) {
    return { kind: 'outcome-unknown' };
  }
  return classifyPostgres(error, sent);
}

export function lifelineSide(options: SideOptions): Side {
  // No 'error' listener: lifeline-net/pg never turns a connection's death into an uncaught event.
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize,
    lifeline: {
      // Writes: one deadline for the statement, retried only when it was never sent.
      queryDeadlineMs: options.queryDeadlineMs,
      // PGlite ignores CancelRequest; don't keep a connection whose query timed out waiting for one.
      cancelTimeoutMs: 200,
      connectTimeoutMs: options.attemptDeadlineMs,
      keepaliveIdleMs: 1000,
      keepaliveIntervalMs: 1000,
      keepaliveCount: 3,
      userTimeoutMs: 3000,
    },
  });
  // Reads: each attempt gets a short deadline of its own, and the read as a whole is retried inside a
  // longer one, so a read survives an outage shorter than that (a stuck attempt doesn't use it all up).
  const reads: ExecuteOptions = {
    deadlineMs: options.queryDeadlineMs,
    idempotent: true,
    retry: { maxAttempts: 20, baseDelayMs: 25, maxDelayMs: 200 },
    classify: classifyRead,
  };
  return {
    name: 'lifeline',
    maxOpMs: options.queryDeadlineMs,
    app: {
      async read(sql) {
        await execute(
          () => pool.query({ text: sql, idempotent: true, deadlineMs: options.attemptDeadlineMs }),
          reads,
        );
      },
      async write(sql) {
        await pool.query(sql);
      },
    },
    close: () => pool.end(),
  };
}
