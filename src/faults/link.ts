// One direction of a proxied connection: source to destination through that stream's toxic stages.
import type { Socket } from 'node:net';
import { GatedStage } from './gate.js';
import { deriveSeed, mulberry32 } from './rng.js';
import type { AttributeSchema, Attributes, Sink, Stage, StageContext, Stream, Toxic } from './toxic.js';
import { toxicDefinitions } from './toxics/index.js';

/** Bytes a link's toxics may hold before it stops reading its source, so a slow toxic cannot buffer without bound. */
const HIGH_WATER_BYTES = 1 << 20;

/** What a link needs from the connection it belongs to. */
export interface LinkOwner {
  readonly id: number;
  readonly seed: number;
  readonly openedAt: number;
  /** How long the connection was silent before the chunk now being handled (ms). */
  readonly idleBeforeMs: number;
  /** Records activity; called for every chunk read on either side. */
  touch(): void;
  reset(): void;
  close(mode?: 'fin' | 'reset'): void;
}

interface Entry {
  toxic: Toxic;
  stage: Stage;
}

/**
 * One direction of a connection: reads `source`, passes the bytes through this stream's toxics in the order
 * they were added, writes `dest`. With no toxic, chunks go straight from the read to the write (the pass-through
 * fast path: no allocation, backpressure by pause/drain like stream.pipe).
 */
export class Link {
  /** Bytes read from the source. */
  received = 0;
  /** Bytes written to the destination. */
  sent = 0;
  private entries: Entry[] = [];
  private head: Stage | null = null;
  /** Bytes inside the toxics: read, not yet written or dropped. */
  private inFlight = 0;
  private destBlocked = false;
  private stalls = 0;
  /** Nothing more goes to the destination (FIN sent toward it, or the connection is closing). */
  private finished = false;
  private readonly tail: Sink = {
    write: (chunk) => {
      this.inFlight -= chunk.length;
      if (!this.finished && !this.dest.destroyed) {
        this.sent += chunk.length;
        if (!this.dest.write(chunk)) this.destBlocked = true;
      }
      this.updateFlow();
    },
    end: () => this.endDestination(),
  };

  constructor(
    readonly stream: Stream,
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly owner: LinkOwner,
  ) {}

  readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    this.owner.touch();
    if (this.head === null) {
      if (this.finished || this.dest.destroyed) return;
      this.sent += chunk.length;
      if (!this.dest.write(chunk)) {
        this.destBlocked = true;
        this.source.pause();
      }
      return;
    }
    this.inFlight += chunk.length;
    this.head.write(chunk);
    if (this.inFlight > HIGH_WATER_BYTES) this.updateFlow();
  };

  readonly onEnd = (): void => {
    (this.head ?? this.tail).end();
  };

  /** 'drain' of the destination. */
  readonly onDrain = (): void => {
    this.destBlocked = false;
    this.updateFlow();
  };

  has(name: string): boolean {
    return this.entries.some((e) => e.toxic.name === name);
  }

  add(toxic: Toxic): void {
    const stage = this.createStage(toxic, this.tail);
    const last = this.entries.at(-1);
    if (last) last.stage.next = stage;
    else this.head = stage;
    this.entries.push({ toxic, stage });
  }

  replace(toxic: Toxic): void {
    const index = this.entries.findIndex((e) => e.toxic.name === toxic.name);
    const old = this.entries[index];
    if (!old) return;
    const stage = this.createStage(toxic, old.stage.next);
    this.link(index, stage);
    this.entries[index] = { toxic, stage };
    this.refill(old.stage, stage);
  }

  /**
   * The toxic was removed from the proxy: its stage cleans up first (a timeout closes the connection, as in
   * Toxiproxy), then what it still held moves on.
   */
  remove(name: string): void {
    this.entries.find((e) => e.toxic.name === name)?.stage.cleanup?.();
    this.withdraw(name);
  }

  /** The toxic no longer acts on this connection (an update changed its toxicity or target): no cleanup. */
  withdraw(name: string): void {
    const index = this.entries.findIndex((e) => e.toxic.name === name);
    const old = this.entries[index];
    if (!old) return;
    const after = this.entries[index + 1]?.stage ?? null;
    this.link(index, after);
    this.entries.splice(index, 1);
    this.refill(old.stage, after ?? this.tail);
    this.updateFlow();
  }

  /** The connection is gone: stop every toxic's timers. */
  dispose(): void {
    for (const { stage } of this.entries) stage.detach();
    this.entries = [];
    this.head = null;
    this.finished = true;
  }

  /** Sends FIN toward the destination once; later data for it is dropped. */
  endDestination(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.dest.destroyed) this.dest.end();
  }

  /** Stops forwarding without a FIN (the connection is being closed as a whole). */
  finish(): void {
    this.finished = true;
  }

  /** Makes what came before position `index` lead to `stage` (null: to the destination). */
  private link(index: number, stage: Stage | null): void {
    const before = this.entries[index - 1];
    if (before) before.stage.next = stage ?? this.tail;
    else this.head = stage;
  }

  /** Hands what a replaced or removed stage still held to what now follows it, in order. */
  private refill(old: Stage, into: Sink): void {
    const { held, ended } = old.detach();
    for (const chunk of held) into.write(chunk);
    if (ended) into.end();
  }

  private createStage(toxic: Toxic, next: Sink): Stage {
    const definition = toxicDefinitions[toxic.type];
    const context = this.contextFor(toxic);
    // Attributes were validated against this definition's schema when the toxic was added.
    const attributes = toxic.attributes as Attributes<AttributeSchema>;
    const create = (sink: Sink) => definition.create(attributes, context, sink);
    const target = toxic.target;
    if (target?.afterBytes === undefined && target?.idleMs === undefined) return create(next);
    const offset = this.received - this.inFlight;
    return new GatedStage(target, offset, () => this.owner.idleBeforeMs, create, next);
  }

  private contextFor(toxic: Toxic): StageContext {
    return {
      openedAt: this.owner.openedAt,
      random: mulberry32(deriveSeed(this.owner.seed, toxic.name, this.owner.id, this.stream)),
      reset: () => this.owner.reset(),
      close: (mode) => this.owner.close(mode),
      endDestination: () => this.endDestination(),
      stallSource: (stalled) => {
        this.stalls += stalled ? 1 : -1;
        this.updateFlow();
      },
      discard: (bytes) => {
        this.inFlight -= bytes;
        this.updateFlow();
      },
    };
  }

  private updateFlow(): void {
    const pause = this.stalls > 0 || this.destBlocked || this.inFlight > HIGH_WATER_BYTES;
    if (pause === this.source.isPaused()) return;
    if (pause) this.source.pause();
    else this.source.resume();
  }
}
