import { timerMs } from '../../options.js';
import { BaseStage } from '../toxic.js';

// Timers fire up to ~1 ms late; wake this much early and finish the wait on setImmediate turns, so a
// requested 100 ms is 100 ms and not 101.
const EARLY_WAKE_MS = 1.5;

/**
 * Base of the toxics that hold chunks until a due time (latency, bandwidth, slicer). One timer for the
 * oldest chunk; chunks leave in arrival order, and the stream's end leaves after the last of them.
 */
export abstract class DelayStage<A> extends BaseStage<A> {
  private chunks: Buffer[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private endPending = false;

  abstract override write(chunk: Buffer): void;

  /** Queues a chunk to leave at `due` (performance.now() clock); never before the chunks queued earlier. */
  protected enqueue(chunk: Buffer, due: number): void {
    if (this.head === this.chunks.length && due <= performance.now()) {
      this.next.write(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.dues.push(due);
    if (this.timer === undefined && this.immediate === undefined) this.arm();
  }

  override end(): void {
    if (this.head === this.chunks.length) this.next.end();
    else this.endPending = true;
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const held = this.chunks.slice(this.head);
    this.chunks = [];
    this.dues = [];
    this.head = 0;
    const ended = this.endPending;
    this.endPending = false;
    return { held, ended };
  }

  private arm(): void {
    const wait = (this.dues[this.head] ?? 0) - performance.now();
    // flush() re-arms while the head is not due, so a wait past one timer's limit takes several.
    if (wait > EARLY_WAKE_MS) this.timer = setTimeout(this.flush, timerMs(wait - EARLY_WAKE_MS));
    else this.immediate = setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    const now = performance.now();
    while (this.head < this.chunks.length && (this.dues[this.head] ?? 0) <= now) {
      const chunk = this.chunks[this.head]!;
      this.head++;
      this.next.write(chunk);
    }
    if (this.head === this.chunks.length) {
      // Drop the consumed prefix in one go instead of shift() per chunk.
      this.chunks = [];
      this.dues = [];
      this.head = 0;
      if (this.endPending) {
        this.endPending = false;
        this.next.end();
      }
      return;
    }
    this.arm();
  };
}
