// One timer for many deadlines: armed for the earliest, it runs its task when that comes (one loop turn
// later), and the task re-arms it for the next. A PeerSet's adaptive timeouts and its quorums' hedges each
// share one, instead of a timer per call (timers were a large part of a quorum's cost).
import { timerMs } from '../core/options.js';

export class SharedTimer {
  private timer: NodeJS.Timeout | undefined;
  /** When it is armed for (performance.now() time); Infinity: not armed. */
  private at = Number.POSITIVE_INFINITY;

  constructor(private readonly task: () => void) {}

  /**
   * Makes sure the task runs at `at` or before; a later `at` than the armed one changes nothing (the usual
   * case, called per attempt: kept to one comparison so that it inlines).
   */
  due(at: number): void {
    if (at < this.at) this.arm(at);
  }

  private arm(at: number): void {
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
