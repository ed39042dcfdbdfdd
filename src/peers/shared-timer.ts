// One timer for many deadlines: armed for the earliest, it runs its task when that comes (one loop turn
// later), and the task re-arms it for the next. A PeerSet's adaptive timeouts and its quorums' hedges each
// share one, instead of a timer per call (timers were a large part of a quorum's cost).
import { timerMs } from '../core/options.js';
import type { HedgeWatcher } from './quorum.js';

export class SharedTimer {
  private timer: NodeJS.Timeout | undefined;
  /** When it is armed for (performance.now() time); Infinity: not armed. */
  private at = Number.POSITIVE_INFINITY;

  constructor(private readonly task: () => void) {}

  /** Makes sure the task runs at `at` or before; a later `at` than the armed one changes nothing. */
  due(at: number): void {
    if (at >= this.at) return;
    clearTimeout(this.timer);
    this.at = at;
    const wait = at - performance.now();
    // Run one turn after the timer, once the loop's I/O callbacks ran: on a busy loop the timer can come
    // due while the answer that makes the task moot is already waiting in the kernel.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.at = Number.POSITIVE_INFINITY;
        setImmediate(this.task);
      },
      timerMs(wait > 0 ? wait : 0),
    );
    // Never keeps the process alive by itself: a call in flight has its own I/O that does.
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }
}

/**
 * The hedge timer of a set: the quorums waiting to hedge, each called when its hedge is due. They are
 * linked through themselves (HedgeWatcher's fields): watching and unwatching a quorum allocates nothing.
 */
export class HedgeTimer {
  private head: HedgeWatcher | undefined;
  private readonly timer = new SharedTimer(() => this.run());

  watch(quorum: HedgeWatcher, at: number): void {
    if (!quorum.hedgeWatched) {
      quorum.hedgeWatched = true;
      quorum.hedgePrev = undefined;
      quorum.hedgeNext = this.head;
      if (this.head !== undefined) this.head.hedgePrev = quorum;
      this.head = quorum;
    }
    this.timer.due(at);
  }

  unwatch(quorum: HedgeWatcher): void {
    if (!quorum.hedgeWatched) return;
    quorum.hedgeWatched = false;
    if (quorum.hedgePrev !== undefined) quorum.hedgePrev.hedgeNext = quorum.hedgeNext;
    else this.head = quorum.hedgeNext;
    if (quorum.hedgeNext !== undefined) quorum.hedgeNext.hedgePrev = quorum.hedgePrev;
    quorum.hedgePrev = quorum.hedgeNext = undefined;
  }

  clear(): void {
    while (this.head !== undefined) this.unwatch(this.head);
    this.timer.clear();
  }

  private run(): void {
    const now = performance.now();
    let earliest = Number.POSITIVE_INFINITY;
    // A quorum's hedgeDue() can end only that quorum (its attempts report to it alone): the next one,
    // read before the call, is still linked after it.
    for (let quorum = this.head; quorum !== undefined; ) {
      const next = quorum.hedgeNext;
      const at = quorum.hedgeDue(now);
      if (at === Number.POSITIVE_INFINITY) this.unwatch(quorum);
      else if (at < earliest) earliest = at;
      quorum = next;
    }
    this.timer.due(earliest);
  }
}
