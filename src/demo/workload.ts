// The application both pools serve: a fixed number of workers, each issuing one statement at a time
// with a little think time. Every loop is bounded by a count and a deadline, so a scenario always ends
// even when ops hang (a hung op blocks its worker, never the scenario).

import { mulberry32 } from '../faults/rng.js';
import type { OpKind, Recorder } from './metrics.js';

/** What the application does with one pool. `write` embodies the app's retry policy for that pool. */
export interface AppSide {
  read(sql: string): Promise<void>;
  write(sql: string): Promise<void>;
}

export interface LoadOptions {
  kind: OpKind;
  workers: number;
  durationMs: number;
  maxOpsPerWorker: number;
  thinkMs: number;
  seed: number;
  /** Distinguishes this run's rows from any other run's in a shared database. */
  runId: string;
  side: string;
}

export interface Load {
  /** Resolves when every worker has returned (never, for a worker stuck on a hung op). */
  readonly finished: Promise<void>;
  /** Ids whose INSERT the application saw succeed. */
  readonly acknowledged: ReadonlySet<number>;
  /** Stops issuing new ops; in-flight ones carry on. */
  stop(): void;
}

export const ITEMS = 100;

export function readSql(key: number): string {
  return `SELECT id, name FROM lifeline_demo_items WHERE id = ${key}`;
}

export function writeSql(runId: string, side: string, id: number): string {
  return `INSERT INTO lifeline_demo_writes (run_id, side, id) VALUES ('${runId}', '${side}', ${id})`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function startLoad(app: AppSide, recorder: Recorder, options: LoadOptions): Load {
  const random = mulberry32(options.seed);
  const acknowledged = new Set<number>();
  let stopped = false;
  let nextId = 1;
  const endAt = recorder.now() + options.durationMs;
  const running = (): boolean => !stopped && recorder.now() < endAt;

  const worker = async (): Promise<void> => {
    for (let i = 0; i < options.maxOpsPerWorker && running(); i++) {
      const op = recorder.begin(options.kind);
      try {
        if (options.kind === 'read') {
          await app.read(readSql(1 + Math.floor(random() * ITEMS)));
        } else {
          const id = nextId++;
          await app.write(writeSql(options.runId, options.side, id));
          acknowledged.add(id);
        }
        op.ok();
      } catch (error) {
        op.fail(error);
      }
      // Jittered think time so workers don't move in lock-step.
      if (running()) await sleep(options.thinkMs * (0.5 + random()));
    }
  };

  const finished = Promise.all(Array.from({ length: options.workers }, worker)).then(() => undefined);
  return {
    finished,
    acknowledged,
    stop() {
      stopped = true;
    },
  };
}
