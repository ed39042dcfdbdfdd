// quorum(k, op): k successes from the peers, hedged to alternates, the rest aborted when satisfied.
import { InvalidOptionError, type OptionRules, timerMs, validateOptions } from '../core/options.js';
import { DeadlineExceededError, ExecAbortedError } from '../exec/index.js';
import { QuorumFailedError } from './errors.js';
import type { PeerCall } from './options.js';
import type { PeerEntry, Pending } from './peer.js';
import type { PeerSetStats } from './stats.js';
import type { HedgeThrottle } from './throttle.js';

export interface QuorumOptions {
  /** Aborts the quorum: it rejects with ExecAbortedError and every attempt's signal aborts. */
  signal?: AbortSignal;
  /** The whole quorum's deadline (every attempt, alternates and hedges included). */
  deadlineMs?: number;
  /** Overrides the set's hedge delay for this call; Infinity turns hedging off. */
  hedgeDelayMs?: number;
}

/** One answer of a quorum. */
export interface PeerResult<P, T> {
  readonly peer: P;
  readonly value: T;
}

/** What the quorum needs from its PeerSet. */
export interface QuorumHost<P> {
  readonly throttle: HedgeThrottle;
  readonly counters: PeerSetStats;
  candidates(): PeerEntry<P>[];
  hedgeDelayMs(): number | undefined;
  attempt<T>(
    entry: PeerEntry<P>,
    fn: PeerCall<P, T>,
    signal: AbortSignal | undefined,
    group: Set<Pending>,
  ): Promise<T>;
  emit(event: 'hedge', info: { peer: P; key: string; throttled: boolean }): boolean;
}

const RULES: OptionRules = {
  signal: { kind: 'object', rules: {}, open: true },
  deadlineMs: { kind: 'number', min: 0, max: 86_400_000 },
  hedgeDelayMs: { kind: 'number', min: 0, infinity: true },
};

// The reason attempts that are no longer needed are aborted with ("never mind"): one instance, made on
// first use, since building an error (its stack) per quorum was a third of quorum()'s own cost.
let notNeeded: ExecAbortedError | undefined;

/** Options of a call that passed none: known valid, so not checked again. */
export const NO_OPTIONS: QuorumOptions = Object.freeze({});

/**
 * Asks the k best peers; a failed attempt is replaced by the next peer in line (an alternate), an attempt
 * slower than the hedge delay gets a hedge beside it while the throttle allows. At k answers the rest are
 * aborted and their late answers only counted. Fails when the answers still possible fall short of k.
 */
export function runQuorum<P, T>(
  host: QuorumHost<P>,
  k: number,
  fn: PeerCall<P, T>,
  options: QuorumOptions,
): Promise<PeerResult<P, T>[]> {
  try {
    if (!Number.isInteger(k) || k < 1) {
      throw new InvalidOptionError('PeerSet.quorum', 'k', 'must be an integer ≥ 1', k, { argument: true });
    }
    if (typeof fn !== 'function') {
      throw new InvalidOptionError('PeerSet.quorum', 'fn', 'must be a function', fn, { argument: true });
    }
    if (options !== NO_OPTIONS) validateOptions('PeerSet.quorum', options, RULES);
  } catch (error) {
    return Promise.reject(error);
  }
  host.counters.quorums++;
  const order = host.candidates();
  if (order.length < k) {
    host.counters.quorumsFailed++;
    return Promise.reject(new QuorumFailedError(k, 0, order.length, []));
  }
  const callerSignal = options.signal;
  if (callerSignal?.aborted) return Promise.reject(new ExecAbortedError(callerSignal.reason));
  const hedgeDelay = options.hedgeDelayMs ?? host.hedgeDelayMs();

  return new Promise((resolve, reject) => {
    // The attempts in flight: cancelled directly at the end (cheaper than a shared AbortSignal).
    const group = new Set<Pending>();
    const results: PeerResult<P, T>[] = [];
    const errors: unknown[] = [];
    const hedgeTimers = new Set<NodeJS.Timeout>();
    let next = 0;
    let inflight = 0;
    let finished = false;
    let attempts = 0;

    const finish = (error: Error | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      for (const timer of hedgeTimers) clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
      notNeeded ??= new ExecAbortedError(undefined, 'not needed: the quorum already has its answers');
      const reason = error ?? notNeeded;
      for (const pending of [...group]) pending.cancel(reason);
      if (error === undefined) resolve(results);
      else {
        host.counters.quorumsFailed++;
        reject(error);
      }
    };
    const impossible = (): boolean => results.length + inflight + (order.length - next) < k;
    const launch = (hedge: boolean): void => {
      const entry = order[next++]!;
      inflight++;
      attempts++;
      if (hedge) host.emit('hedge', { peer: entry.peer, key: entry.key, throttled: false });
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      if (hedgeDelay !== undefined && hedgeDelay !== Number.POSITIVE_INFINITY) {
        // Decided one turn later, after the loop's I/O callbacks: on a busy loop the timer can come due while
        // the answer is already waiting in the kernel, and a hedge then would only add load.
        const hedgeNow = (): void => {
          if (settled || finished || next >= order.length) return;
          if (!host.throttle.allows()) {
            host.counters.hedgesThrottled++;
            host.emit('hedge', { peer: entry.peer, key: entry.key, throttled: true });
            return;
          }
          host.counters.hedges++;
          launch(true);
        };
        timer = setTimeout(() => {
          hedgeTimers.delete(timer!);
          setImmediate(hedgeNow);
        }, timerMs(hedgeDelay));
        hedgeTimers.add(timer);
      }
      const ended = (): boolean => {
        settled = true;
        inflight--;
        if (timer !== undefined) {
          clearTimeout(timer);
          hedgeTimers.delete(timer);
        }
        return finished;
      };
      host.attempt(entry, fn, undefined, group).then(
        (value) => {
          if (ended()) return;
          results.push({ peer: entry.peer, value });
          if (results.length >= k) finish(undefined);
        },
        (error: unknown) => {
          if (ended()) return;
          errors.push(error);
          if (results.length + inflight < k && next < order.length) launch(false);
          if (impossible()) finish(new QuorumFailedError(k, results.length, order.length, errors));
        },
      );
    };
    const onAbort = (): void => finish(new ExecAbortedError(callerSignal?.reason));
    const deadline =
      options.deadlineMs === undefined
        ? undefined
        : setTimeout(
            () =>
              finish(
                new DeadlineExceededError(
                  options.deadlineMs!,
                  attempts,
                  errors[errors.length - 1],
                  `with ${results.length} of ${k} answers`,
                ),
              ),
            timerMs(options.deadlineMs),
          );
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    for (let i = 0; i < k && !finished; i++) launch(false);
  });
}
