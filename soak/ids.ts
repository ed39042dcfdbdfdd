// Compact bookkeeping for the soak: how many times each id was seen, in 64 Ki-id pages of Uint8Array, and a
// latency histogram. Millions of ids in a Set or Map would grow the JS heap by themselves (the first 30-minute
// run's heap rose 31 → 173 MB, ~140 MB of it the soak's own Sets, Maps and latency arrays), hiding or faking a
// leak; typed arrays keep the soak's own state off the heap it measures, and small.

const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS;

/** Counts per non-negative integer id (saturating at 255). */
export class IdCounts {
  readonly #pages = new Map<number, Uint8Array>();
  #distinct = 0;

  /** Counts one more sighting of `id`; returns the new count. */
  add(id: number): number {
    const key = Math.floor(id / PAGE);
    let page = this.#pages.get(key);
    if (page === undefined) {
      page = new Uint8Array(PAGE);
      this.#pages.set(key, page);
    }
    const i = id - key * PAGE;
    const n = page[i] as number;
    if (n === 0) this.#distinct++;
    if (n < 255) page[i] = n + 1;
    return n + 1;
  }

  get(id: number): number {
    const key = Math.floor(id / PAGE);
    return this.#pages.get(key)?.[id - key * PAGE] ?? 0;
  }

  has(id: number): boolean {
    return this.get(id) > 0;
  }

  /** Distinct ids seen. */
  get size(): number {
    return this.#distinct;
  }

  /** Every id seen, with its count. */
  *entries(): IterableIterator<[number, number]> {
    for (const [key, page] of this.#pages) {
      for (let i = 0; i < PAGE; i++) if ((page[i] as number) > 0) yield [key * PAGE + i, page[i] as number];
    }
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (const [id] of this.entries()) yield id;
  }
}

/** Latencies in 1 ms buckets up to a minute (longer ones in the last bucket). */
export class Latencies {
  readonly #buckets = new Uint32Array(60_001);
  #count = 0;

  add(ms: number): void {
    const i = Math.min(60_000, Math.max(0, Math.round(ms)));
    this.#buckets[i] = (this.#buckets[i] as number) + 1;
    this.#count++;
  }

  /** The latency that fraction `q` of the samples stayed at or under. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.floor(this.#count * q);
    let seen = 0;
    for (let ms = 0; ms < this.#buckets.length; ms++) {
      seen += this.#buckets[ms] as number;
      if (seen > rank) return ms;
    }
    return 60_000;
  }
}
