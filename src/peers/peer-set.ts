// Over 400 lines on purpose: the set's state (members, detector checks, heartbeats, and the call path with
// its adaptive timeout, PeerLostError and late answers) is one object whose parts all read and move the same
// per-peer entries; quorum, the detector, outlier ejection, the throttle and the incident log have files
// of their own.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { brand } from '../core/brand.js';
import type { LifelineError } from '../core/errors.js';
import { InvalidOptionError, timerMs } from '../core/options.js';
import { ExecAbortedError, HedgePolicy, isConnectionError } from '../exec/index.js';
import type { Death } from '../socket/index.js';
import { Attempt, type AttemptHost, type AttemptOwner } from './attempt.js';
import { type DownCause, PeerLostError, PeerSetClosedError, PeerSlowError } from './errors.js';
import { IncidentLog } from './incidents.js';
import type { Membership } from './membership.js';
import {
  checkPeerSetOptions,
  defaultKey,
  defaultLogger,
  type PeerCall,
  type PeerSetOptions,
} from './options.js';
import { OutlierPolicy } from './outlier.js';
import { PeerEntry, type PeerState, peerTransitions } from './peer.js';
import type { PhiOptions } from './phi.js';
import {
  checkSignal,
  NO_OPTIONS,
  type PeerResult,
  type QuorumHost,
  type QuorumOptions,
  runQuorum,
} from './quorum.js';
import { SharedTimer } from './shared-timer.js';
import { newStats, type PeerSetStats, type PeerStats } from './stats.js';
import { HedgeThrottle } from './throttle.js';

/** Events of a PeerSet; each carries the peer and its key. */
export interface PeerSetEvents<P> {
  state: [{ peer: P; key: string; from: PeerState; to: PeerState; reason: string; phi: number }];
  eject: [{ peer: P; key: string; untilMs: number; timesEjected: number }];
  return: [{ peer: P; key: string }];
  added: [{ peer: P; key: string }];
  removed: [{ peer: P; key: string }];
  /** An answer that came after the call was given up on, failed or no longer needed: counted, not logged. */
  late: [{ peer: P; key: string; ok: boolean }];
  hedge: [{ peer: P; key: string; throttled: boolean }];
  'membership-error': [LifelineError];
}

/** Anything that reports its death the way a LiveSocket does. */
export interface DeathSource {
  once(event: 'death', listener: (death: Death) => void): unknown;
  off(event: 'death', listener: (death: Death) => void): unknown;
}

// Codes that say nothing listens at the peer: as good as a death event.
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'LIFELINE_CONNECT_FAILED']);

/** The error's code (or its cause's: fetch wraps ECONNREFUSED in a TypeError), else its name. */
function codeOf(error: unknown): string {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'error';
}

// Attempts a set keeps for reuse at most (a burst of quorums beyond it allocates as before).
const SPARE_ATTEMPTS = 256;

// Answers between two sorts of the set into quorum()'s order. A peer that changes state, an ejection that
// begins or ends, and a member that joins or leaves re-sort it at once; latency moves it within this many.
const ORDER_REFRESH = 16;

// Answers between two readings of the hedge policy's percentile (each sorts its window of samples); every
// 16 while it has too few samples to give one.
const HEDGE_REFRESH = 4096;
// …or sooner, once this long has passed since the last reading (a set with few calls still adapts).
const HEDGE_REFRESH_MS = 1000;

/** quorum()'s order: up before suspect, ejected last, faster first (no latency yet: the median). */
function compare(a: PeerEntry<unknown>, b: PeerEntry<unknown>, now: number, reference: number): number {
  return rank(a, now) - rank(b, now) || latencyOf(a, reference) - latencyOf(b, reference);
}
function rank(e: PeerEntry<unknown>, now: number): number {
  return e.ejected(now) ? 2 : e.state === 'suspect' ? 1 : 0;
}
function latencyOf(e: PeerEntry<unknown>, reference: number): number {
  return Number.isNaN(e.latencyMs) ? reference : e.latencyMs;
}

/** Sorts `list` in place by compare() and returns it: stable, and quick on a nearly sorted list. */
function insertionSort<E extends PeerEntry<unknown>>(list: E[], now: number, reference: number): E[] {
  if (list.length > 64) return list.sort((a, b) => compare(a, b, now, reference));
  for (let i = 1; i < list.length; i++) {
    const entry = list[i]!;
    let j = i - 1;
    while (j >= 0 && compare(list[j]!, entry, now, reference) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = entry;
  }
  return list;
}

/**
 * A set of peers, each with a phi-accrual detector, a latency model and outlier ejection. A peer judged
 * down leaves the usable set with one `state` event and every call outstanding to it fails at once with
 * PeerLostError; quorum() asks k peers, sends to alternates on failure and hedges past the hedge delay.
 */
export class PeerSet<P> extends EventEmitter<PeerSetEvents<P>> {
  readonly clock: () => number;
  private readonly throttle: HedgeThrottle;
  private readonly counters: PeerSetStats = newStats();
  /** What quorum.ts sees of the set. */
  private readonly host: QuorumHost<P>;
  private readonly entries = new Map<string, PeerEntry<P>>();
  /** The entries in the order they were added: walked by the hot path's periodic work (no iterator). */
  private readonly members: PeerEntry<P>[] = [];
  /** Scratch for the median of the peers' latencies (no array per recomputation). */
  private latencies = new Float64Array(16);
  private readonly keyOf: (peer: P) => string;
  private readonly detectorOptions: PhiOptions;
  private readonly suspectPhi: number;
  private readonly recoverAfter: number;
  private readonly retryDownAfterMs: number;
  private readonly slowCallFactor: number;
  private readonly minCallTimeoutMs: number;
  private readonly maxCallTimeoutMs: number;
  private readonly outliers: OutlierPolicy;
  private readonly hedgePolicy: HedgePolicy;
  private readonly incidents: IncidentLog;
  private readonly heartbeatSend: ((peer: P, signal: AbortSignal) => Promise<unknown>) | undefined;
  private readonly heartbeatTimeoutMs: number;
  private readonly membership: Membership<P> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private referenceCache = Number.NaN;
  /** callTimeoutMs() for referenceCache. */
  private timeoutCache = 0;
  private referenceAge = 0;
  /** True when the clock is performance.now(): an attempt's start on both clocks is one reading. */
  private readonly defaultClock: boolean;
  /**
   * quorum()'s order: the peers not down, best first. Replaced, never changed in place, so a quorum keeps
   * the one it started with; sorted again when stale (see ORDER_REFRESH) or at the earliest ejection's end.
   */
  private order: PeerEntry<P>[] = [];
  private orderStale = true;
  private orderAge = 0;
  private orderUntil = Number.POSITIVE_INFINITY;
  /** What an attempt sees of the set. */
  private readonly attemptHost: AttemptHost;
  /** Attempts whose call and quorum are both over, kept to serve later calls (see Attempt.release). */
  private readonly spareAttempts: Attempt<unknown>[] = [];
  /** The one give-up timer for every outstanding call, due at the earliest deadline (performance.now()). */
  private readonly giveUps = new SharedTimer(() => this.giveUpDue());
  /** The one hedge timer for every quorum in flight: due at the earliest hedgeAt of an outstanding attempt. */
  private readonly hedges = new SharedTimer(() => this.hedgeDue());
  /** Scratch for the attempts whose hedge is due in one pass of the hedge timer. */
  private readonly dueHedges: Attempt<unknown>[] = [];
  /** The last call function quorum() asked about, and whether it declares its signal parameter. */
  private lastFn: unknown;
  private lastWantsSignal = false;
  /** The hedge delay, asked of the policy every HEDGE_REFRESH answers (its percentile sorts its window). */
  private hedgeDelayCache: number | undefined;
  private hedgeDelayAge = HEDGE_REFRESH;
  private hedgeDelayAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(options: PeerSetOptions<P> = {}) {
    super();
    checkPeerSetOptions(options as PeerSetOptions<unknown>);
    this.clock = options.clock ?? (() => performance.now());
    this.defaultClock = options.clock === undefined;
    this.keyOf = options.key ?? defaultKey;
    this.detectorOptions = options.detector ?? {};
    this.suspectPhi = options.suspectPhi ?? 3;
    this.recoverAfter = options.recoverAfter ?? 3;
    this.retryDownAfterMs = options.retryDownAfterMs ?? 30_000;
    this.slowCallFactor = options.slowCallFactor ?? 5;
    this.minCallTimeoutMs = options.minCallTimeoutMs ?? 250;
    this.maxCallTimeoutMs = options.maxCallTimeoutMs ?? 30_000;
    this.outliers = new OutlierPolicy(options.outlier ?? {});
    const hedge = options.hedge ?? {};
    this.hedgePolicy = new HedgePolicy({ delayMs: hedge.delayMs, percentile: hedge.percentile });
    this.throttle = new HedgeThrottle(hedge);
    this.host = {
      throttle: this.throttle,
      counters: this.counters,
      now: this.clock,
      order: (now) => this.orderAt(now),
      hedgeDelayMs: (now) => this.hedgeDelayMs(now),
      launch: (entry, fn, wantsSignal, owner, now) => this.launch(entry, fn, wantsSignal, owner, now),
      emit: (event, info) => this.emit(event, info),
      hedgeTimer: (at) => this.hedges.due(at),
      wantsSignal: (fn) => {
        if (fn !== this.lastFn) {
          this.lastFn = fn;
          this.lastWantsSignal = fn.length >= 2;
        }
        return this.lastWantsSignal;
      },
    };
    this.attemptHost = {
      clock: this.clock,
      answered: (entry, latency, now) => this.answered(entry as PeerEntry<P>, latency, now),
      answeredUntimed: (entry) => this.answeredUntimed(entry as PeerEntry<P>),
      errored: (entry, error) => this.errored(entry as PeerEntry<P>, error),
      gaveUp: (entry, timeoutMs) => this.gaveUp(entry as PeerEntry<P>, timeoutMs),
      late: (entry, ok) => this.late(entry as PeerEntry<P>, ok),
      recycle: (attempt) => {
        if (this.spareAttempts.length < SPARE_ATTEMPTS) this.spareAttempts.push(attempt);
      },
    };
    this.incidents = new IncidentLog(options.logger ?? defaultLogger, options.logWindowMs ?? 1000);
    this.heartbeatSend = options.heartbeat?.send;
    const intervalMs = options.heartbeat?.intervalMs ?? 1000;
    this.heartbeatTimeoutMs = intervalMs + (options.detector?.acceptableHeartbeatPauseMs ?? 3000);
    if (this.heartbeatSend !== undefined) this.every(intervalMs, () => this.sendHeartbeats());
    this.every(options.checkIntervalMs ?? 100, this.localPauseGuard(options));
    const members = options.members;
    if (Array.isArray(members)) {
      try {
        for (const peer of members as readonly P[]) this.add(peer);
      } catch (error) {
        // A member no key can be made for: nothing of this set may keep running.
        this.close();
        throw error;
      }
    } else if (members !== undefined) {
      this.membership = members as Membership<P>;
      this.membership.start(
        (peers) => this.setMembers(peers),
        (error) => {
          this.incidents.record('membership', error.code);
          this.emit('membership-error', error);
        },
      );
    }
  }

  /** Adds a peer (a no-op if its key is already in the set). */
  add(peer: P): void {
    if (this.closed) throw new PeerSetClosedError();
    const key = this.keyOf(peer);
    if (this.entries.has(key)) return;
    const entry = new PeerEntry(key, peer, this.detectorOptions);
    // With heartbeats, silence counts from joining (Akka's expected-response-after): a peer that never
    // answers one is judged down like one that stopped answering.
    if (this.heartbeatSend !== undefined) entry.detector.restart(this.clock());
    this.entries.set(key, entry);
    this.members.push(entry);
    this.orderStale = true;
    this.emit('added', { peer, key });
  }

  /** Removes a peer; calls outstanding to it fail with PeerLostError. */
  remove(peer: P): boolean {
    const entry = this.entries.get(this.keyOf(peer));
    if (entry === undefined) return false;
    this.down(entry, 'removed', undefined);
    entry.heartbeat?.abort();
    this.entries.delete(entry.key);
    this.members.splice(this.members.indexOf(entry), 1);
    this.orderStale = true;
    this.incidents.forget(entry.key);
    this.emit('removed', { peer: entry.peer, key: entry.key });
    return true;
  }

  /** The members, in the order they were added. */
  peers(): P[] {
    return [...this.entries.values()].map((entry) => entry.peer);
  }

  /** The peers calls may go to: not down and not ejected. */
  usable(): P[] {
    const now = this.clock();
    return [...this.entries.values()].filter((e) => e.state !== 'down' && !e.ejected(now)).map((e) => e.peer);
  }

  state(peer: P): PeerState | undefined {
    return this.entries.get(this.keyOf(peer))?.state;
  }

  /** Counters for the whole set. */
  stats(): PeerSetStats {
    return { ...this.counters, ...this.census() };
  }

  /** One peer's health, latency and counters. */
  peerStats(peer: P): PeerStats | undefined {
    const entry = this.entries.get(this.keyOf(peer));
    if (entry === undefined) return undefined;
    const now = this.clock();
    return {
      key: entry.key,
      state: entry.state,
      phi: entry.detector.phi(now),
      latencyMs: entry.latencyMs,
      outstanding: entry.outstanding.size,
      ejected: entry.ejected(now),
      timesEjected: entry.outlier.timesEjected,
      calls: entry.calls,
      failures: entry.failures,
    };
  }

  /** Records a sign of life from outside the set (your own heartbeat channel). */
  heartbeat(peer: P): void {
    const entry = this.entries.get(this.keyOf(peer));
    if (entry !== undefined) this.alive(entry);
  }

  /** Judges a peer down now (e.g. its connection died): its outstanding calls fail with PeerLostError. */
  markDown(peer: P, error?: unknown): void {
    const entry = this.entries.get(this.keyOf(peer));
    if (entry !== undefined) this.down(entry, 'connection', error);
  }

  /** Watches a connection to `peer` (a LiveSocket): its death marks the peer down. Returns an unwatch. */
  watch(peer: P, socket: DeathSource): () => void {
    const listener = (death: Death): void => {
      if (death.cause !== 'local-close') this.markDown(peer, death.error);
    };
    socket.once('death', listener);
    return () => socket.off('death', listener);
  }

  /** One call to one peer, under the adaptive timeout; fails at once if the peer is judged down. */
  call<T>(peer: P, fn: PeerCall<P, T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new InvalidOptionError('PeerSet.call', 'fn', 'must be a function', fn, { argument: true }),
      );
    }
    const entry = this.entries.get(this.keyOf(peer));
    if (entry === undefined) {
      return Promise.reject(
        new InvalidOptionError('PeerSet.call', 'peer', 'must be a member of the set', this.keyOf(peer), {
          argument: true,
        }),
      );
    }
    if (this.closed) return Promise.reject(new PeerSetClosedError());
    if (entry.state === 'down') return Promise.reject(new PeerLostError(this.evidence(entry, 'connection')));
    const signal = options?.signal;
    try {
      checkSignal('PeerSet.call', signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(new ExecAbortedError(signal.reason));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => attempt.cancel(signal?.reason);
      const owner: AttemptOwner<T> = {
        settled: (_attempt, error, value) => {
          signal?.removeEventListener('abort', onAbort);
          if (error === undefined) resolve(value as T);
          else reject(error);
        },
      };
      const attempt = this.launch(entry, fn, fn.length >= 2, owner);
      if (!attempt.done) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** k answers from k peers, with alternates and hedging; resolves in the order the answers came. */
  quorum<T>(k: number, fn: PeerCall<P, T>, options: QuorumOptions = NO_OPTIONS): Promise<PeerResult<P, T>[]> {
    if (this.closed) return Promise.reject(new PeerSetClosedError());
    return runQuorum(this.host, k, fn, options);
  }

  /** The first answer from any peer (quorum of 1). */
  async any<T>(fn: PeerCall<P, T>, options: QuorumOptions = NO_OPTIONS): Promise<PeerResult<P, T>> {
    return (await this.quorum(1, fn, options))[0]!;
  }

  /** An answer from every usable peer (quorum of all). */
  all<T>(fn: PeerCall<P, T>, options: QuorumOptions = NO_OPTIONS): Promise<PeerResult<P, T>[]> {
    return this.quorum(Math.max(1, this.orderAt(this.clock()).length), fn, options);
  }

  /**
   * Evaluates every peer now: phi against the thresholds, ejections that ended, down peers due a trial.
   * Runs every `checkIntervalMs` by itself.
   */
  check(): void {
    const now = this.clock();
    for (const entry of this.entries.values()) {
      if (entry.outlier.ejectedUntil !== 0 && entry.outlier.ejectedUntil <= now) {
        entry.outlier.ejectedUntil = 0;
        this.orderStale = true;
        this.emit('return', { peer: entry.peer, key: entry.key });
      }
      entry.timeNext = true;
      if (entry.state === 'down') {
        if (this.heartbeatSend === undefined && now - entry.downAt >= this.retryDownAfterMs) {
          entry.detector.restart(now);
          this.move(entry, 'suspect', 'trial after retryDownAfterMs', 0);
        }
        continue;
      }
      if (this.heartbeatSend === undefined && entry.outstanding.size === 0) continue;
      const phi = entry.detector.phi(now);
      if (phi >= entry.detector.threshold) this.down(entry, 'phi', undefined);
      else if (phi >= this.suspectPhi && entry.state === 'up') this.move(entry, 'suspect', 'phi', phi);
    }
  }

  /** Stops timers and membership; outstanding calls fail with PeerLostError; writes pending log lines. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.giveUps.clear();
    this.hedges.clear();
    this.membership?.stop();
    for (const entry of this.entries.values()) {
      entry.heartbeat?.abort();
      this.failOutstanding(entry, 'closed', undefined);
    }
    this.incidents.close();
  }

  /** The peers in the order quorum() asks them: up before suspect, ejected last, faster first; never down. */
  candidates(): P[] {
    // Sorted now, so the next quorum asks in exactly this order.
    this.sortOrder(this.clock());
    return this.order.map((entry) => entry.peer);
  }

  /** quorum()'s order at `now`, sorted again first when it is stale. */
  private orderAt(now: number): PeerEntry<P>[] {
    if (this.orderStale || this.orderAge >= ORDER_REFRESH || now >= this.orderUntil) this.sortOrder(now);
    return this.order;
  }

  private sortOrder(now: number): void {
    const current = this.order;
    if (!this.orderStale && now < this.orderUntil) {
      // Only latencies moved: most of the time the order still holds, and the same array serves on.
      const reference = this.referenceMs();
      let sorted = true;
      for (let i = 1; i < current.length && sorted; i++) {
        sorted = compare(current[i - 1]!, current[i]!, now, reference) <= 0;
      }
      if (sorted) {
        this.orderAge = 0;
        return;
      }
      this.order = insertionSort(current.slice(), now, reference);
      this.orderAge = 0;
      return;
    }
    const list: PeerEntry<P>[] = [];
    let until = Number.POSITIVE_INFINITY;
    for (const entry of this.members) {
      if (entry.state === 'down') continue;
      list.push(entry);
      const end = entry.outlier.ejectedUntil;
      if (end > now && end < until) until = end;
    }
    this.order = insertionSort(list, now, this.referenceMs());
    this.orderStale = false;
    this.orderAge = 0;
    this.orderUntil = until;
  }

  private hedgeDelayMs(now: number): number | undefined {
    const age = this.hedgeDelayAge;
    if (
      age >= HEDGE_REFRESH ||
      (age >= 16 && (this.hedgeDelayCache === undefined || now - this.hedgeDelayAt >= HEDGE_REFRESH_MS))
    ) {
      this.hedgeDelayCache = this.hedgePolicy.delayMs();
      this.hedgeDelayAge = 0;
      this.hedgeDelayAt = now;
    }
    return this.hedgeDelayCache;
  }

  /** Starts one attempt under the adaptive timeout; `owner` hears its outcome. */
  private launch<T>(
    entry: PeerEntry<P>,
    fn: PeerCall<P, T>,
    wantsSignal: boolean,
    owner: AttemptOwner<T>,
    now?: number,
  ): Attempt<T> {
    const started = now ?? this.clock();
    const timeoutMs = this.callTimeoutMs();
    if (this.heartbeatSend === undefined && entry.outstanding.size === 0) entry.detector.restart(started);
    entry.calls++;
    this.counters.calls++;
    const attempt = (
      (this.spareAttempts.pop() as Attempt<T> | undefined) ?? new Attempt<T>(this.attemptHost)
    ).init(
      entry as PeerEntry<unknown>,
      owner,
      started,
      this.defaultClock ? started : performance.now(),
      timeoutMs,
    );
    entry.outstanding.add(attempt as Attempt<unknown>);
    this.giveUps.due(attempt.deadline);
    attempt.run(fn as PeerCall<unknown, T>, wantsSignal);
    return attempt;
  }

  /** Gives up on every outstanding call past its deadline; re-arms for the earliest one left. */
  private giveUpDue(): void {
    const now = performance.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) {
      for (const attempt of entry.outstanding.toArray()) {
        if (attempt.deadline <= now) attempt.giveUp(new PeerSlowError(entry.key, attempt.timeoutMs));
        else if (!attempt.done && attempt.deadline < earliest) earliest = attempt.deadline;
      }
    }
    if (!this.closed) this.giveUps.due(earliest);
  }

  /**
   * The hedge timer's pass: every outstanding attempt whose hedge is due tells its quorum, oldest first
   * (collected before any is sent: a hedge launched in this pass is not due in it); re-arms for the
   * earliest one left.
   */
  private hedgeDue(): void {
    const now = performance.now();
    const due = this.dueHedges;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.members) {
      for (let attempt = entry.outstanding.head; attempt !== undefined; attempt = attempt.next) {
        const at = attempt.hedgeAt;
        if (at <= now) due.push(attempt);
        else if (at < earliest) earliest = at;
      }
    }
    if (due.length > 1) due.sort((a, b) => a.launchedAt - b.launchedAt);
    // A hedge may end its quorum (it fails, or its function aborts the caller's signal), which ends other
    // attempts in this list: hedgeDue() passes over those.
    for (let i = 0; i < due.length; i++) due[i]!.hedgeDue();
    due.length = 0;
    if (!this.closed) this.hedges.due(earliest);
  }

  private answered(entry: PeerEntry<P>, latency: number, now: number): void {
    this.counters.timedAnswers++;
    entry.recordLatency(latency);
    this.hedgePolicy.record(latency);
    this.hedgeDelayAge++;
    this.referenceAge++;
    this.orderAge++;
    this.succeeded(entry, now);
  }

  /**
   * A healthy peer's answer between samples: what every answer must do without the time — the outlier
   * run and the hedge budget. Its detector is fed by the timed answers (at least one per check interval).
   */
  private answeredUntimed(entry: PeerEntry<P>): void {
    entry.outlier.consecutiveFailures = 0;
    this.throttle.success();
    if (entry.failures > 0 && this.incidents.has(entry.key)) this.incidents.recovered(entry.key);
  }

  private errored(entry: PeerEntry<P>, error: unknown): void {
    this.counters.failures++;
    const code = codeOf(error);
    this.failed(entry, code);
    if (REFUSED.has(code)) this.down(entry, 'connection', error);
    else if (isConnectionError(error) && entry.state === 'up') this.move(entry, 'suspect', code, 0);
  }

  private gaveUp(entry: PeerEntry<P>, timeoutMs: number): void {
    entry.recordLatency(timeoutMs);
    this.orderAge++;
    this.counters.slow++;
    this.failed(entry, 'LIFELINE_PEER_SLOW');
  }

  // ---- internals ----

  /**
   * The check timer's tick. When the tick itself came later than the detector's acceptable pause, this
   * process stalled (GC, a blocked loop, a suspended VM) and every peer's silence is its own doing. The
   * check runs one turn later, after the loop's I/O callbacks (an answer already waiting is read first);
   * a stall that begins between the tick and that check is not in the tick's lateness, so the check
   * measures its own: more than the acceptable pause since the tick is a local pause as well.
   */
  private localPauseGuard(options: PeerSetOptions<P>): () => void {
    const intervalMs = options.checkIntervalMs ?? 100;
    const pauseMs = options.detector?.acceptableHeartbeatPauseMs ?? 3000;
    let last = performance.now();
    let queued = false;
    const judge = (): void => {
      queued = false;
      const now = performance.now();
      if (now - last > pauseMs) {
        last = now;
        this.localPause();
      } else this.check();
    };
    return () => {
      const now = performance.now();
      const late = now - last - intervalMs;
      last = now;
      if (late > pauseMs) this.localPause();
      else if (!queued) {
        queued = true;
        setImmediate(judge);
      }
    };
  }

  /**
   * This process stalled for longer than the acceptable pause: the silence so far was its own, not the
   * peers'. As Cassandra's detector does after a local pause, no peer is judged on it: every peer's
   * silence counts again from now (its detector restarts without an interval), so a peer is judged only
   * once it has been silent after the stall for as long as the detector needs — time for the replies that
   * waited in the kernel, and for fresh heartbeats, to be read first. A peer that really died during the
   * stall is judged that long after it.
   */
  private localPause(): void {
    this.counters.localPauses++;
    const now = this.clock();
    for (const entry of this.members) if (entry.state !== 'down') entry.detector.restart(now);
  }

  private every(ms: number, run: () => void): void {
    if (ms <= 0) return;
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private census(): Pick<PeerSetStats, 'members' | 'up' | 'suspect' | 'down' | 'ejected'> {
    const now = this.clock();
    const census = { members: this.entries.size, up: 0, suspect: 0, down: 0, ejected: 0 };
    for (const entry of this.entries.values()) {
      census[entry.state]++;
      if (entry.ejected(now)) census.ejected++;
    }
    return census;
  }

  private setMembers(peers: readonly P[]): void {
    if (this.closed) return;
    this.incidents.recovered('membership');
    const keep = new Set<string>();
    for (const peer of peers) {
      keep.add(this.keyOf(peer));
      this.add(peer);
    }
    for (const entry of [...this.entries.values()]) if (!keep.has(entry.key)) this.remove(entry.peer);
  }

  /** Median of the peers' latency averages, recomputed every 16 answers; sets the adaptive timeout with it. */
  private referenceMs(): number {
    if (this.referenceAge < 16 && !Number.isNaN(this.referenceCache)) return this.referenceCache;
    const members = this.members;
    if (this.latencies.length < members.length) this.latencies = new Float64Array(members.length * 2);
    const values = this.latencies;
    let count = 0;
    for (let i = 0; i < members.length; i++) {
      const latency = members[i]!.latencyMs;
      if (!Number.isNaN(latency)) values[count++] = latency;
    }
    // The median by a partial sort: small sets (the usual case) in place, large ones by the typed sort.
    if (count > 64) values.subarray(0, count).sort();
    else {
      for (let i = 1; i < count; i++) {
        const v = values[i]!;
        let j = i - 1;
        while (j >= 0 && values[j]! > v) {
          values[j + 1] = values[j]!;
          j--;
        }
        values[j + 1] = v;
      }
    }
    const reference = count === 0 ? Number.NaN : values[count >> 1]!;
    const ms = Number.isNaN(reference) ? this.maxCallTimeoutMs : reference * this.slowCallFactor;
    this.timeoutCache =
      ms < this.minCallTimeoutMs
        ? this.minCallTimeoutMs
        : ms > this.maxCallTimeoutMs
          ? this.maxCallTimeoutMs
          : ms;
    this.referenceCache = reference;
    this.referenceAge = 0;
    return reference;
  }

  /** The adaptive timeout: slowCallFactor × the median latency, clamped (kept with the median). */
  private callTimeoutMs(): number {
    if (this.referenceAge >= 16 || Number.isNaN(this.referenceCache)) this.referenceMs();
    return this.timeoutCache;
  }

  private succeeded(entry: PeerEntry<P>, now: number): void {
    this.outliers.success(entry.outlier);
    this.throttle.success();
    if (this.heartbeatSend === undefined) this.alive(entry, now);
    else if (entry.state === 'suspect') this.move(entry, 'up', 'reply', 0);
    if (entry.failures > 0 && this.incidents.has(entry.key) && entry.state === 'up')
      this.incidents.recovered(entry.key);
  }

  private failed(entry: PeerEntry<P>, cause: string): void {
    entry.failures++;
    entry.timeNext = true;
    this.throttle.failure();
    this.incidents.record(entry.key, cause);
    const now = this.clock();
    const { ejected, members } = this.census();
    if (this.outliers.failure(entry.outlier, now, ejected, members)) {
      this.counters.ejections++;
      this.orderStale = true;
      this.emit('eject', {
        peer: entry.peer,
        key: entry.key,
        untilMs: entry.outlier.ejectedUntil - now,
        timesEjected: entry.outlier.timesEjected,
      });
    }
  }

  private late(entry: PeerEntry<P>, ok: boolean): void {
    if (ok) this.counters.lateReplies++;
    else this.counters.lateErrors++;
    if (this.listenerCount('late') > 0) this.emit('late', { peer: entry.peer, key: entry.key, ok });
  }

  /** Evidence of life: feeds the detector and, after enough of it, brings a peer back. */
  private alive(entry: PeerEntry<P>, now = this.clock()): void {
    entry.detector.heartbeat(now);
    if (entry.state === 'up') return;
    entry.evidence++;
    const needed = entry.state === 'down' ? this.recoverAfter : 1;
    if (entry.evidence >= needed) {
      this.move(entry, 'up', this.heartbeatSend === undefined ? 'reply' : 'heartbeat', 0);
      this.incidents.recovered(entry.key);
    }
  }

  private down(entry: PeerEntry<P>, cause: DownCause, error: unknown): void {
    if (entry.state === 'down') return;
    const phi = entry.detector.phi(this.clock());
    entry.downAt = this.clock();
    if (cause !== 'removed' && cause !== 'closed') this.incidents.record(entry.key, `down:${cause}`);
    this.move(entry, 'down', cause, phi);
    this.failOutstanding(entry, cause, error);
  }

  private failOutstanding(entry: PeerEntry<P>, cause: DownCause, error: unknown): void {
    if (entry.outstanding.size === 0) return;
    const lost = new PeerLostError(this.evidence(entry, cause), error);
    for (const attempt of entry.outstanding.toArray()) {
      this.counters.lost++;
      attempt.lose(lost);
    }
  }

  private evidence(entry: PeerEntry<P>, cause: DownCause): PeerLostError['evidence'] {
    const now = this.clock();
    return {
      cause,
      peer: entry.key,
      phi: entry.detector.phi(now),
      lastHeardAgoMs: now - entry.detector.lastHeartbeatAt,
    };
  }

  private move(entry: PeerEntry<P>, to: PeerState, reason: string, phi: number): void {
    const from = entry.state;
    if (from === to || !peerTransitions[from].includes(to)) return;
    entry.state = to;
    entry.timeNext = true;
    this.orderStale = true;
    entry.evidence = 0;
    this.counters.transitions++;
    this.emit('state', { peer: entry.peer, key: entry.key, from, to, reason, phi });
  }

  private sendHeartbeats(): void {
    const send = this.heartbeatSend;
    if (send === undefined || this.closed) return;
    for (const entry of this.entries.values()) {
      if (entry.heartbeat !== undefined) continue;
      const controller = new AbortController();
      entry.heartbeat = controller;
      const timer = setTimeout(() => controller.abort(), timerMs(this.heartbeatTimeoutMs));
      this.counters.heartbeats++;
      let sent: Promise<unknown>;
      try {
        sent = Promise.resolve(send(entry.peer, controller.signal));
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent
        .then(
          () => {
            if (!controller.signal.aborted) this.alive(entry);
          },
          (error: unknown) => {
            entry.evidence = 0;
            if (!controller.signal.aborted && REFUSED.has(codeOf(error)))
              this.down(entry, 'connection', error);
          },
        )
        .finally(() => {
          clearTimeout(timer);
          if (entry.heartbeat === controller) entry.heartbeat = undefined;
        });
    }
  }
}
brand(PeerSet, 'peers.PeerSet');
