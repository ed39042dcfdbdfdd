// One call to one peer: the object that the peer's outstanding set, the set's shared give-up timer and its
// owner (a quorum, or call()'s promise) all hold. One object per attempt instead of a closure per step;
// a quorum's attempt objects are reused once both their call and their quorum are done (see release()).
import { getEventListeners } from 'node:events';
import { ExecAbortedError } from '../exec/index.js';
import type { PeerCall } from './options.js';
import type { PeerEntry } from './peer.js';

/** Hears how an attempt ended, once: `error` undefined means `value` is its answer. */
export interface AttemptOwner<T> {
  settled(attempt: Attempt<T>, error: Error | undefined, value: T | undefined): void;
  /** Its hedge is due (a quorum's attempt whose hedgeAt came while it still ran): sends it if it may. */
  hedge?(attempt: Attempt<T>): void;
}

/** What an attempt asks of its PeerSet (the set's bookkeeping on each outcome). */
export interface AttemptHost {
  clock(): number;
  /** `now`: the clock reading the latency was measured with. */
  answered(entry: PeerEntry<unknown>, latencyMs: number, now: number): void;
  /** An answer not timed (see PeerEntry.timeNext): its counters only, no clock reading. */
  answeredUntimed(entry: PeerEntry<unknown>): void;
  errored(entry: PeerEntry<unknown>, error: unknown): void;
  gaveUp(entry: PeerEntry<unknown>, timeoutMs: number): void;
  late(entry: PeerEntry<unknown>, ok: boolean): void;
  /** Takes back an attempt whose call and owner are both done, for a later call. */
  recycle(attempt: Attempt<unknown>): void;
}

// Handed to a call function that declares no second parameter: it cannot read a signal, so none is made
// for it (an AbortController per attempt was the largest cost of a quorum). It never aborts.
const UNUSED_SIGNAL = new AbortController().signal;

// Node 20 builds each AbortSignal slowly: createAbortSignal sets the prototype of a fresh EventTarget,
// which V8 pays for on every signal (7–14 µs measured on the project's VM, more than the JavaScript of a
// loopback HTTP request). A signal handed to a call that answered, never aborted and with no listener left
// on it is handed to a later call instead (docs/peers.md: the signal is the call's while it runs).
const SPARE_LIMIT = 64;

/**
 * A healthy peer's answers are timed one in this many (besides the first after each check tick, every one
 * while it is not up, and the first after a failure): the clock reading and the latency, hedge-window and
 * detector updates of every answer were most of a quorum's own cost (docs/peers.md, Performance).
 */
export const TIME_EVERY = 8;
const spare: AbortController[] = [];

function takeController(): AbortController {
  return spare.pop() ?? new AbortController();
}

/**
 * Node's EventTarget keeps its listeners in a Map under an internal symbol (`kEvents`), whose entry for a
 * type is deleted when its last listener goes: a Map of size 0 means no listener of any type, which is
 * all giveBack needs to know. Found once on a fresh signal; when this Node has no such symbol (or its value
 * is not map-like), every check takes events.getEventListeners (about 30 ns and an array per call, where
 * the size costs a property load).
 */
const kEvents: symbol | undefined = (() => {
  const signal = new AbortController().signal;
  const symbol = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kEvents');
  const map = symbol === undefined ? undefined : (signal as unknown as Record<symbol, unknown>)[symbol];
  const mapLike = map as { size?: unknown; get?: unknown } | undefined;
  return typeof mapLike?.size === 'number' && typeof mapLike.get === 'function' ? symbol : undefined;
})();

/** No abort listener left on the signal (exact: a listener of another type sends it to the full check). */
function noAbortListener(signal: AbortSignal): boolean {
  if (kEvents !== undefined) {
    const events = (signal as unknown as Record<symbol, { size: number } | undefined>)[kEvents];
    if (events !== undefined && events.size === 0) return true;
  }
  return getEventListeners(signal, 'abort').length === 0;
}

function giveBack(controller: AbortController): void {
  const signal = controller.signal;
  if (spare.length < SPARE_LIMIT && !signal.aborted && noAbortListener(signal)) spare.push(controller);
}

/**
 * The attempts outstanding to one peer, as a list linked through the attempts themselves: adding and
 * removing one costs no hashing and no allocation (a Set of them was a visible part of a quorum's cost).
 */
export class AttemptList {
  size = 0;
  /** @internal */ head: Attempt<unknown> | undefined;

  add(attempt: Attempt<unknown>): void {
    attempt.next = this.head;
    attempt.prev = undefined;
    if (this.head !== undefined) this.head.prev = attempt;
    this.head = attempt;
    attempt.list = this;
    this.size++;
  }

  remove(attempt: Attempt<unknown>): void {
    if (attempt.list !== this) return;
    if (attempt.prev !== undefined) attempt.prev.next = attempt.next;
    else this.head = attempt.next;
    if (attempt.next !== undefined) attempt.next.prev = attempt.prev;
    attempt.list = attempt.prev = attempt.next = undefined;
    this.size--;
  }

  /** A copy, oldest last: safe to end attempts while going through it. */
  toArray(): Attempt<unknown>[] {
    const all: Attempt<unknown>[] = [];
    for (let a = this.head; a !== undefined; a = a.next) all.push(a);
    return all;
  }
}

export class Attempt<T> {
  done = false;
  /** Its place in its peer's AttemptList while outstanding. */
  list: AttemptList | undefined;
  prev: Attempt<unknown> | undefined;
  next: Attempt<unknown> | undefined;
  /** Made only for a call function that declares the signal parameter. */
  private controller: AbortController | undefined;
  /** For the quorum: the attempt it launched after this one. */
  sibling: Attempt<unknown> | undefined;
  /**
   * performance.now() time its hedge is due (set by its quorum); Infinity: none, or already sent. The
   * set's hedge timer goes through the outstanding attempts for it (no per-quorum watch list).
   */
  hedgeAt = Number.POSITIVE_INFINITY;
  /** performance.now() time past which the set gives up on it (its adaptive timeout). */
  deadline = 0;
  entry!: PeerEntry<unknown>;
  private owner: AttemptOwner<T> | undefined;
  /** Start on the set's clock (latency is measured on it). */
  started = 0;
  /** Start on performance.now() (the timers' time: hedge delay and adaptive timeout). */
  launchedAt = 0;
  timeoutMs = 0;
  /** The call's promise has settled (answer() or fail() ran): nothing more can come from it. */
  private callSettled = false;
  /** Its owner let go of it (a finished quorum): with callSettled, the object may serve another call. */
  private released = false;
  // The call's handlers, made once per object: a reused attempt hands the same two to each call.
  private readonly onValue = (value: T): void => this.answer(value);
  private readonly onError = (error: unknown): void => this.fail(error);

  constructor(private readonly host: AttemptHost) {}

  /** Readies it for one call (a new object, or one the set kept after its last call and owner were done). */
  init(
    entry: PeerEntry<unknown>,
    owner: AttemptOwner<T>,
    started: number,
    launchedAt: number,
    timeoutMs: number,
  ): this {
    this.entry = entry;
    this.owner = owner;
    this.started = started;
    this.launchedAt = launchedAt;
    this.timeoutMs = timeoutMs;
    this.deadline = launchedAt + timeoutMs;
    this.done = false;
    this.hedgeAt = Number.POSITIVE_INFINITY;
    this.sibling = undefined;
    this.controller = undefined;
    this.callSettled = false;
    this.released = false;
    return this;
  }

  /**
   * Its owner is done with it (a quorum at its end, after cancelling what still ran). Once its call has
   * settled too, the set may hand the object to another call: nothing refers to it for this one any more.
   * An attempt whose owner never releases it (call()) is simply left to the garbage collector.
   */
  release(): void {
    this.released = true;
    if (this.callSettled) this.recycle();
  }

  private recycle(): void {
    // Kept attempts hold nothing of their last call (a removed peer's entry would stay reachable).
    this.entry = undefined as unknown as PeerEntry<unknown>;
    this.owner = undefined;
    this.sibling = undefined;
    this.controller = undefined;
    this.host.recycle(this as Attempt<unknown>);
  }

  /**
   * Calls `fn`; its outcome reaches the owner unless the attempt ended first (then it is only counted).
   * `wantsSignal`: `fn` declares the signal parameter (fn.length ≥ 2, read once per quorum: a native getter).
   */
  run(fn: PeerCall<unknown, T>, wantsSignal: boolean): void {
    let signal = UNUSED_SIGNAL;
    if (wantsSignal) {
      this.controller = takeController();
      signal = this.controller.signal;
    }
    let reply: Promise<T>;
    try {
      reply = fn(this.entry.peer, signal);
    } catch (error) {
      // Thrown before any promise: reported on a microtask all the same, as a rejection would be.
      reply = Promise.reject(error);
    }
    // `.then` with the object's two handlers rather than an async method awaiting the call: measured
    // cheaper per attempt in V8 (no async frame to suspend and resume, no closures per call). A value
    // that is not a promise is wrapped, as await would.
    (reply instanceof Promise ? reply : Promise.resolve(reply)).then(this.onValue, this.onError);
  }

  /** Its hedge is due now (the set's hedge timer found it): tells its owner, once. */
  hedgeDue(): void {
    this.hedgeAt = Number.POSITIVE_INFINITY;
    if (!this.done) this.owner!.hedge?.(this);
  }

  /** The peer was judged down (or removed): fail now with `error`. */
  lose(error: Error): void {
    if (this.end(error)) this.owner!.settled(this, error, undefined);
  }

  /** No longer wanted (`reason` is the caller's abort reason or the quorum's "not needed"). */
  cancel(reason: unknown): void {
    if (this.done) return;
    // The time it has taken is a lower bound of its latency: a peer that keeps losing to hedges is asked
    // later next time.
    const elapsed = this.host.clock() - this.started;
    if (!(elapsed <= this.entry.latencyMs)) this.entry.recordLatency(elapsed);
    const error = reason instanceof ExecAbortedError ? reason : new ExecAbortedError(reason);
    if (this.end(error)) this.owner!.settled(this, error, undefined);
  }

  /** Past its adaptive timeout (the set's shared timer found it). */
  giveUp(error: Error): void {
    if (!this.end(error)) return;
    this.host.gaveUp(this.entry, this.timeoutMs);
    this.owner!.settled(this, error, undefined);
  }

  // answer() and fail() end with the owner's (or the late) callback and touch nothing after it: that
  // callback may finish a quorum, which releases this attempt for another call.
  private answer(value: T): void {
    this.callSettled = true;
    if (this.done) {
      this.host.late(this.entry, true);
      if (this.released) this.recycle();
      return;
    }
    this.end(undefined);
    // The call is over and answered: its signal (never aborted) may serve another call.
    if (this.controller !== undefined) {
      giveBack(this.controller);
      this.controller = undefined;
    }
    // Timed (a clock reading, latency, hedge window, detector) when the peer is due a sample; on a
    // healthy peer between samples only counted (see PeerEntry.timeNext).
    const entry = this.entry;
    if (entry.timeNext || entry.state !== 'up' || ++entry.untimed >= TIME_EVERY) {
      entry.untimed = 0;
      entry.timeNext = false;
      const now = this.host.clock();
      this.host.answered(entry, now - this.started, now);
    } else this.host.answeredUntimed(entry);
    this.owner!.settled(this, undefined, value);
  }

  private fail(reason: unknown): void {
    this.callSettled = true;
    if (this.done) {
      this.host.late(this.entry, false);
      if (this.released) this.recycle();
      return;
    }
    const error = reason instanceof Error ? reason : new Error(String(reason), { cause: reason });
    this.end(error);
    this.host.errored(this.entry, reason);
    this.owner!.settled(this, error, undefined);
  }

  /** Marks it ended (false if it already was) and aborts its signal, if one was made, on a failure. */
  private end(error: Error | undefined): boolean {
    if (this.done) return false;
    this.done = true;
    this.entry.outstanding.remove(this as Attempt<unknown>);
    if (error !== undefined) this.controller?.abort(error);
    return true;
  }
}
