// quorum(k, op): k successes from the peers, hedged to alternates, the rest aborted when satisfied.
import { InvalidOptionError, type OptionRules, timerMs, validateOptions } from '../core/options.js';
import { DeadlineExceededError, ExecAbortedError } from '../exec/index.js';
import type { Attempt, AttemptOwner } from './attempt.js';
import { QuorumFailedError } from './errors.js';
import type { PeerCall } from './options.js';
import type { PeerEntry } from './peer.js';
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
  /** The set's clock. */
  now(): number;
  /** The peers not down, best first, at `now`: kept by the set between changes, never changed in place. */
  order(now: number): readonly PeerEntry<P>[];
  /** The set's hedge delay at `now` (undefined: none yet). */
  hedgeDelayMs(now: number): number | undefined;
  /**
   * Starts one attempt that reports to `owner` (no promise in between); `wantsSignal`: fn declares its
   * signal parameter; `now`: the clock, if just read.
   */
  launch<T>(
    entry: PeerEntry<P>,
    fn: PeerCall<P, T>,
    wantsSignal: boolean,
    owner: AttemptOwner<T>,
    now?: number,
  ): Attempt<T>;
  emit(event: 'hedge', info: { peer: P; key: string; throttled: boolean }): boolean;
  /**
   * Makes sure the set's hedge timer runs at `at` (performance.now() time) or soon after: it calls
   * `hedge()` on the owner of every outstanding attempt whose hedgeAt has come.
   */
  hedgeTimer(at: number): void;
  /**
   * Whether `fn` declares its signal parameter (fn.length ≥ 2, a native getter that costs a call into
   * the runtime): the set keeps the answer for the last function asked about (most callers pass one).
   */
  wantsSignal(fn: PeerCall<P, unknown>): boolean;
}

const RULES: OptionRules = {
  signal: { kind: 'object', rules: {}, open: true },
  deadlineMs: { kind: 'number', min: 0, max: 86_400_000 },
  hedgeDelayMs: { kind: 'number', min: 0, infinity: true },
};

/**
 * Throws InvalidOptionError unless `signal` is undefined or an AbortSignal (anything with a boolean
 * `aborted` and add/removeEventListener): an object that is not one would fail later, inside the set.
 */
export function checkSignal(owner: string, signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.aborted !== 'boolean' ||
    typeof s.addEventListener !== 'function' ||
    typeof s.removeEventListener !== 'function'
  ) {
    throw new InvalidOptionError(owner, 'signal', 'must be an AbortSignal', signal);
  }
}

// The reason attempts that are no longer needed are aborted with ("never mind"): one instance, made on
// first use, since building an error (its stack) per quorum was a third of quorum()'s own cost.
let notNeeded: ExecAbortedError | undefined;

// Frozen options objects already checked: they cannot have changed, so a caller that reuses one (a
// constant) has it checked once.
const checked = new WeakSet<QuorumOptions>();

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
  // The usual call (a valid k, a function, no options or a frozen set already checked) tests only this.
  if (
    !Number.isInteger(k) ||
    k < 1 ||
    typeof fn !== 'function' ||
    (options !== NO_OPTIONS && !checked.has(options))
  ) {
    const error = argumentError(k, fn, options);
    if (error !== undefined) return Promise.reject(error);
  }
  host.counters.quorums++;
  const now = host.now();
  const order = host.order(now);
  if (order.length < k) {
    host.counters.quorumsFailed++;
    return Promise.reject(new QuorumFailedError(k, 0, order.length, []));
  }
  const callerSignal = options.signal;
  if (callerSignal?.aborted) return Promise.reject(new ExecAbortedError(callerSignal.reason));
  const quorum = new Quorum(host, k, fn, options, order, now);
  opening = quorum as Quorum<unknown, unknown>;
  const promise = new Promise<PeerResult<P, T>[]>(takeResolvers);
  opening = undefined;
  quorum.start(now);
  return promise;
}

/** What is wrong with quorum()'s arguments, if anything (the options checked once when frozen). */
function argumentError(k: number, fn: unknown, options: QuorumOptions): unknown {
  try {
    if (!Number.isInteger(k) || k < 1) {
      throw new InvalidOptionError('PeerSet.quorum', 'k', 'must be an integer ≥ 1', k, { argument: true });
    }
    if (typeof fn !== 'function') {
      throw new InvalidOptionError('PeerSet.quorum', 'fn', 'must be a function', fn, { argument: true });
    }
    if (options !== NO_OPTIONS && !checked.has(options)) {
      if (typeof options !== 'object' || options === null || Array.isArray(options)) {
        throw new InvalidOptionError('PeerSet.quorum', 'options', 'must be an object', options, {
          argument: true,
        });
      }
      // The signal first: validateOptions would name a non-object one "signal." (its nested-object path).
      checkSignal('PeerSet.quorum', options.signal);
      validateOptions('PeerSet.quorum', options, RULES);
      if (Object.isFrozen(options)) checked.add(options);
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

// The quorum whose promise is being made: takeResolvers, one function for every quorum, hands it its
// resolving functions (a closure per quorum for the executor was a measurable part of its cost).
let opening: Quorum<unknown, unknown> | undefined;
function takeResolvers(resolve: (results: never[]) => void, reject: (error: Error) => void): void {
  opening!.resolve = resolve as (results: PeerResult<unknown, unknown>[]) => void;
  opening!.reject = reject;
}

/** One quorum in flight: the owner of its attempts (each carries when its hedge is due). */
class Quorum<P, T> implements AttemptOwner<T> {
  /** Sized k: exactly k answers fill it before it is handed out. */
  private readonly results: PeerResult<P, T>[];
  private answers = 0;
  /** Made at the first failure. */
  private errors: unknown[] | undefined;
  /** Attempts launched, in order, linked through Attempt.sibling (the live ones are cancelled at the end). */
  private first: Attempt<T> | undefined;
  private last: Attempt<T> | undefined;
  private launched = 0;
  /** The peers to ask, in the set's order when the quorum began, and the next one's index. */
  private cursor = 0;
  /** Peers that may still be asked, counting those asked. */
  private available: number;
  private inflight = 0;
  private finished = false;
  /** What its unfinished attempts were cancelled with. */
  private endReason: Error | undefined;
  private readonly hedgeDelay: number | undefined;
  /** `fn` declares the signal parameter: its attempts get an AbortSignal of their own. */
  private readonly wantsSignal: boolean;
  private deadline: NodeJS.Timeout | undefined;
  private readonly onAbort: (() => void) | undefined;
  /** Set by takeResolvers while the quorum's promise is made. */
  resolve!: (results: PeerResult<P, T>[]) => void;
  reject!: (error: Error) => void;

  constructor(
    private readonly host: QuorumHost<P>,
    private readonly k: number,
    private readonly fn: PeerCall<P, T>,
    private readonly options: QuorumOptions,
    private readonly order: readonly PeerEntry<P>[],
    now: number,
  ) {
    this.results = new Array(k);
    this.wantsSignal = host.wantsSignal(fn as PeerCall<P, unknown>);
    this.available = order.length;
    const delay = options.hedgeDelayMs ?? host.hedgeDelayMs(now);
    this.hedgeDelay = delay === Number.POSITIVE_INFINITY ? undefined : delay;
    if (options.signal !== undefined) {
      const signal = options.signal;
      this.onAbort = () => this.finish(new ExecAbortedError(signal.reason));
    }
  }

  /** Asks the first k peers; `now`: the clock, read when the quorum began. */
  start(now: number): void {
    try {
      this.begin(now);
    } catch (error) {
      // As a throw in a promise's executor would: the quorum fails (and what it started is cancelled).
      this.finish(error instanceof Error ? error : new Error(String(error), { cause: error }));
    }
  }

  private begin(now: number): void {
    const { deadlineMs, signal } = this.options;
    if (deadlineMs !== undefined) {
      this.deadline = setTimeout(() => {
        const last = this.errors?.[this.errors.length - 1];
        const detail = `with ${this.answers} of ${this.k} answers`;
        this.finish(new DeadlineExceededError(deadlineMs, this.launched, last, detail));
      }, timerMs(deadlineMs));
    }
    if (this.onAbort !== undefined) signal?.addEventListener('abort', this.onAbort, { once: true });
    for (let i = 0; i < this.k && !this.finished; i++) this.launch(false, now);
  }

  settled(attempt: Attempt<T>, error: Error | undefined, value: T | undefined): void {
    this.inflight--;
    if (this.finished) return;
    if (error === undefined) {
      this.results[this.answers++] = { peer: attempt.entry.peer as P, value: value as T };
      if (this.answers >= this.k) this.finish(undefined);
      return;
    }
    const errors = this.errors ?? [];
    this.errors = errors;
    errors.push(error);
    if (this.answers + this.inflight < this.k && this.cursor < this.available) this.launch(false);
    if (this.answers + this.inflight + (this.available - this.cursor) < this.k) {
      this.finish(new QuorumFailedError(this.k, this.answers, this.available, errors));
    }
  }

  /** The next peer in the order that is not down now (one may have gone down since the quorum began). */
  private next(): PeerEntry<P> | undefined {
    while (this.cursor < this.order.length) {
      const entry = this.order[this.cursor++]!;
      if (entry.state !== 'down') return entry;
    }
    return undefined;
  }

  private launch(hedge: boolean, now?: number): void {
    const entry = this.next();
    if (entry === undefined) {
      // Peers went down since the quorum began: fewer can be asked than counted.
      this.available = this.cursor;
      if (this.answers + this.inflight < this.k) {
        this.finish(new QuorumFailedError(this.k, this.answers, this.available, this.errors ?? []));
      }
      return;
    }
    this.inflight++;
    if (hedge) this.host.emit('hedge', { peer: entry.peer, key: entry.key, throttled: false });
    const attempt = this.host.launch(entry, this.fn, this.wantsSignal, this, now);
    if (this.last === undefined) this.first = attempt;
    else this.last.sibling = attempt as Attempt<unknown>;
    this.last = attempt;
    this.launched++;
    if (this.finished) {
      // Ended while the call was being made (its function aborted the caller's signal): this attempt
      // came after finish() went through the list.
      if (!attempt.done) attempt.cancel(this.endReason);
      attempt.release();
      return;
    }
    if (this.hedgeDelay !== undefined && !attempt.done) {
      // Every attempt of a hedging quorum may get one hedge; the set's timer finds it in its peer's list
      // of outstanding attempts (nothing to register or remove per quorum).
      const at = attempt.launchedAt + this.hedgeDelay;
      attempt.hedgeAt = at;
      this.host.hedgeTimer(at);
    }
  }

  /**
   * The set's hedge timer found `attempt` still running past the hedge delay (it calls this once per
   * attempt, oldest first, only for attempts launched before that pass): sends a hedge to the next peer
   * in line while the throttle allows.
   */
  hedge(attempt: Attempt<T>): void {
    if (this.finished || this.cursor >= this.available) return;
    if (!this.host.throttle.allows()) {
      this.host.counters.hedgesThrottled++;
      const { peer, key } = attempt.entry;
      this.host.emit('hedge', { peer: peer as P, key, throttled: true });
      return;
    }
    this.host.counters.hedges++;
    this.launch(true);
  }

  private finish(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    if (this.onAbort !== undefined) this.options.signal?.removeEventListener('abort', this.onAbort);
    notNeeded ??= new ExecAbortedError(undefined, 'not needed: the quorum already has its answers');
    const reason = error ?? notNeeded;
    this.endReason = reason;
    // The next one is read before anything is done with the current: cancelling runs abort listeners
    // (the caller's code), which may start quorums that take released attempts for their own calls.
    for (let a = this.first; a !== undefined; ) {
      const next = a.sibling as Attempt<T> | undefined;
      if (!a.done) a.cancel(reason);
      a.release();
      a = next;
    }
    this.first = this.last = undefined;
    if (error === undefined) this.resolve(this.results);
    else {
      this.host.counters.quorumsFailed++;
      this.reject(error);
    }
  }
}
