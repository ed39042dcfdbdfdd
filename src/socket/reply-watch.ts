/** What LiveSocket.watchReplies tells its watcher about an awaited reply that went silent. */
export interface ReplyOverdue {
  /** At most this long since the reply began to be awaited (expectReply), in ms. */
  waitingMs: number;
  /** At least this long since the last byte arrived (or since expectReply, if none did), in ms. */
  silentMs: number;
  /** How many times the watcher was already called for this reply. */
  calls: number;
}

/** Called when an awaited reply is overdue; returns the silence after which to be called again, or undefined. */
export type OverdueHandler = (overdue: ReplyOverdue) => number | undefined;

/**
 * The timer behind LiveSocket.watchReplies. No clock read and no timer operation per request: expectReply
 * bumps a counter (awaiting), arriving bytes bump another (progress), and one timer per connection, running
 * only while replies are awaited, ticks every quarter of `overdueMs` and compares the counters with what it
 * saw at the previous tick. A reply is overdue once the silence it can prove (from the tick that first saw
 * the request or its last byte) reaches `overdueMs`: the watcher is called after a silence between
 * `overdueMs` and 1.25 × `overdueMs`.
 */
export class ReplyWatch {
  /** Bumped by LiveSocket for every chunk that arrives while a reply is awaited. */
  progress = 0;
  readonly #overdueMs: number;
  readonly #periodMs: number;
  readonly #onOverdue: OverdueHandler;
  #awaitId = 0;
  #awaitingNow = false;
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #stopped = false;
  #lastTickAt = 0;
  #seenAwait = -1;
  #seenProgress = -1;
  /** Latest time the awaited reply can have been asked for: the tick before the one that first saw it. */
  #waitFrom = 0;
  /** Latest time the current silence can have begun: the tick that saw the request or its last byte. */
  #silentFrom = 0;
  /** Silence at which the watcher is called next for this reply. */
  #callAtSilenceMs: number;
  #calls = 0;

  constructor(overdueMs: number, onOverdue: OverdueHandler) {
    this.#overdueMs = overdueMs;
    this.#periodMs = Math.max(1, Math.floor(overdueMs / 4));
    this.#onOverdue = onOverdue;
    this.#callAtSilenceMs = overdueMs;
  }

  /** A request was sent (LiveSocket.expectReply). */
  awaiting(): void {
    this.#awaitId++;
    this.#awaitingNow = true;
    if (this.#armed || this.#stopped) return;
    this.#armed = true;
    this.#lastTickAt = Date.now();
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#tick(), this.#periodMs).unref();
    else this.#timer.refresh();
  }

  /** The awaited reply is complete (LiveSocket.replyReceived): the timer lapses at its next tick. */
  received(): void {
    this.#awaitingNow = false;
  }

  stop(): void {
    this.#stopped = true;
    this.#armed = false;
    clearTimeout(this.#timer);
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const previousTick = this.#lastTickAt;
    this.#lastTickAt = now;
    if (!this.#awaitingNow) {
      this.#armed = false;
      return;
    }
    this.#timer?.refresh();
    if (this.#seenAwait !== this.#awaitId) {
      this.#seenAwait = this.#awaitId;
      this.#seenProgress = this.progress;
      this.#waitFrom = previousTick;
      this.#silentFrom = now;
      this.#callAtSilenceMs = this.#overdueMs;
      this.#calls = 0;
      return;
    }
    if (this.#seenProgress !== this.progress) {
      this.#seenProgress = this.progress;
      this.#silentFrom = now;
      this.#callAtSilenceMs = this.#overdueMs;
      return;
    }
    const silentMs = now - this.#silentFrom;
    if (silentMs < this.#callAtSilenceMs) return;
    let again: number | undefined;
    try {
      again = this.#onOverdue({ waitingMs: now - this.#waitFrom, silentMs, calls: this.#calls++ });
    } catch (error) {
      // A failing watcher must not stop the socket's own work; it surfaces like a throwing listener would.
      process.nextTick(() => {
        throw error;
      });
    }
    this.#callAtSilenceMs =
      typeof again === 'number' && Number.isFinite(again) && again >= 0
        ? silentMs + again
        : Number.POSITIVE_INFINITY;
  }
}
