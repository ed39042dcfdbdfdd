import { preciseNow, timerMs } from '../../core/time.js';
import { BaseStage } from '../toxic.js';

// Timers fire up to ~1 ms late; wake this much early and finish the wait on setImmediate turns, so a
// requested 100 ms is 100 ms and not 101.
const EARLY_WAKE_MS = 1.5;

/**
 * Base of the toxics that hold data until a due time (latency, bandwidth, slicer). A subclass holds each
 * chunk whole and schedules it in pieces; pieces leave in order, one timer for the oldest, and the stream's
 * end leaves after the last of them. A piece is cut from its chunk only when it leaves, so a chunk cut into
 * a million 1-byte slices costs two numbers per slice, not a Buffer each.
 */
export abstract class DelayStage<A> extends BaseStage<A> {
  /** Held chunks; the first `head` pieces' bytes, `sentOffset` into chunks[chunkHead], are gone. */
  private chunks: Buffer[] = [];
  private chunkHead = 0;
  private sentOffset = 0;
  /** Pieces not yet sent, in order, across the held chunks: size in bytes and due time. */
  private sizes: number[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private endPending = false;

  abstract override write(chunk: Buffer): void;

  /** Queues a whole chunk to leave at `due` (core/time.ts clock). */
  protected enqueue(chunk: Buffer, due: number): void {
    this.hold(chunk);
    this.schedule(chunk.length, due);
  }

  /** Holds a chunk; the subclass then schedules all of its bytes, in pieces, with {@link schedule}. */
  protected hold(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  /** The next `size` bytes of the held chunks leave at `due`, never before the pieces scheduled earlier. */
  protected schedule(size: number, due: number): void {
    // Nothing held: the stage was detached while its subclass was still cutting a chunk.
    if (this.chunkHead === this.chunks.length) return;
    if (this.head === this.sizes.length && due <= preciseNow()) {
      const piece = this.take(size);
      // Everything held has left: let go of the chunks (nothing else is pending, nothing to keep).
      if (this.chunkHead === this.chunks.length) this.reset();
      this.next.write(piece);
      return;
    }
    this.sizes.push(size);
    this.dues.push(due);
    if (this.timer === undefined && this.immediate === undefined) this.arm();
  }

  override end(): void {
    if (this.head === this.sizes.length) this.next.end();
    else this.endPending = true;
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const held = this.chunks.slice(this.chunkHead);
    if (held[0]) held[0] = held[0].subarray(this.sentOffset);
    this.reset();
    const ended = this.endPending;
    this.endPending = false;
    return { held: held.filter((chunk) => chunk.length > 0), ended };
  }

  /** Cuts the next `size` bytes off the held chunks (a piece never spans two chunks). */
  private take(size: number): Buffer {
    const chunk = this.chunks[this.chunkHead]!;
    const piece =
      this.sentOffset === 0 && size === chunk.length
        ? chunk
        : chunk.subarray(this.sentOffset, this.sentOffset + size);
    this.sentOffset += size;
    if (this.sentOffset >= chunk.length) {
      this.chunkHead++;
      this.sentOffset = 0;
    }
    return piece;
  }

  private reset(): void {
    this.chunks = [];
    this.chunkHead = 0;
    this.sentOffset = 0;
    this.sizes = [];
    this.dues = [];
    this.head = 0;
  }

  private arm(): void {
    const wait = (this.dues[this.head] ?? 0) - preciseNow();
    // flush() re-arms while the head is not due, so a wait past one timer's limit takes several.
    if (wait > EARLY_WAKE_MS) this.timer = setTimeout(this.flush, timerMs(wait - EARLY_WAKE_MS));
    else this.immediate = setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    const now = preciseNow();
    while (this.head < this.sizes.length && (this.dues[this.head] ?? 0) <= now) {
      const piece = this.take(this.sizes[this.head]!);
      this.head++;
      this.next.write(piece);
    }
    if (this.head === this.sizes.length) {
      // Drop what was sent in one go instead of shift() per piece.
      this.reset();
      if (this.endPending) {
        this.endPending = false;
        this.next.end();
      }
      return;
    }
    this.arm();
  };
}
