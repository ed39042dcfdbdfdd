import type { Sink, Stage, ToxicTarget } from './toxic.js';

/**
 * Holds a toxic back until its target's stream conditions hold: bytes up to `afterBytes` and data on a
 * busy connection pass untouched; the chunk that crosses the byte mark (split exactly there) or arrives
 * after `idleMs` of silence switches the toxic on, and it stays on for the connection.
 */
export class GatedStage implements Stage {
  private inner: Stage | null = null;
  private downstreamSink: Sink;

  constructor(
    private readonly target: ToxicTarget,
    /** Stream offset of the next byte that will reach this stage. */
    private offset: number,
    /** How long the connection had been silent before the chunk being handled. */
    private readonly idleBeforeMs: () => number,
    private readonly create: (next: Sink) => Stage,
    next: Sink,
  ) {
    this.downstreamSink = next;
  }

  get next(): Sink {
    return this.downstreamSink;
  }

  set next(sink: Sink) {
    this.downstreamSink = sink;
    if (this.inner) this.inner.next = sink;
  }

  write(chunk: Buffer): void {
    if (this.inner) {
      this.inner.write(chunk);
      return;
    }
    const after = this.target.afterBytes ?? 0;
    const idle = this.target.idleMs === undefined || this.idleBeforeMs() >= this.target.idleMs;
    if (this.offset + chunk.length <= after || !idle) {
      this.offset += chunk.length;
      this.downstreamSink.write(chunk);
      return;
    }
    const untouched = Math.max(0, after - this.offset);
    if (untouched > 0) this.downstreamSink.write(chunk.subarray(0, untouched));
    this.offset += chunk.length;
    this.inner = this.create(this.downstreamSink);
    this.inner.write(untouched > 0 ? chunk.subarray(untouched) : chunk);
  }

  end(): void {
    if (this.inner) this.inner.end();
    else this.downstreamSink.end();
  }

  /** Only a toxic that switched on has anything to clean up. */
  cleanup(): void {
    this.inner?.cleanup?.();
  }

  detach(): { held: Buffer[]; ended: boolean } {
    return this.inner ? this.inner.detach() : { held: [], ended: false };
  }
}
