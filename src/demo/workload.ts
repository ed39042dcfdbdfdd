// The application both sides serve: a fixed number of workers, each issuing one op at a time (a read of
// a random item, or a write of a fresh id; the driver's AppSide turns it into a query) with a little
// think time. Every loop is bounded by a count and a deadline, so a scenario always ends
// even when ops hang (a hung op blocks its worker, never the scenario).

import { mulberry32 } from '../faults/rng.js';
import type { AppSide } from './driver.js';
import type { OpKind, Recorder } from './metrics.js';

export interface LoadOptions {
  kind: OpKind;
  workers: number;
  durationMs: number;
  maxOpsPerWorker: number;
  thinkMs: number;
  seed: number;
}

export interface Load {
  /** Resolves when every worker has returned (never, for a worker stuck on a hung op). */
  readonly finished: Promise<void>;
  /** Ids whose write the application saw succeed. */
  readonly acknowledged: ReadonlySet<number>;
  /** Stops issuing new ops; in-flight ones carry on. */
  stop(): void;
}

/** Items a driver's start() puts on the server; reads pick one of 1 to ITEMS at random. */
export const ITEMS = 100;

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
          await app.read(1 + Math.floor(random() * ITEMS));
        } else {
          const id = nextId++;
          await app.write(id);
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
