/**
 * A growable ring buffer used as a deque: the waiter queue (FIFO) and the idle list (LIFO or FIFO).
 * Unlike `Array.prototype.shift`, taking from the front is O(1) and moves nothing; like undici's
 * fixed-queue, the backing array is reused so steady-state push/take allocates nothing.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private mask: number;
  private head = 0;
  private size = 0;

  constructor(capacity = 16) {
    let cap = 4;
    while (cap < capacity) cap *= 2;
    this.items = new Array<T | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & this.mask] = item;
    this.size++;
  }

  unshift(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return item;
  }

  pop(): T | undefined {
    if (this.size === 0) return undefined;
    this.size--;
    const index = (this.head + this.size) & this.mask;
    const item = this.items[index];
    this.items[index] = undefined;
    return item;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /** Removes one occurrence of `item`, keeping the order of the rest. O(n); off the hot path. */
  remove(item: T): boolean {
    for (let i = 0; i < this.size; i++) {
      if (this.items[(this.head + i) & this.mask] !== item) continue;
      for (let j = i; j < this.size - 1; j++) {
        this.items[(this.head + j) & this.mask] = this.items[(this.head + j + 1) & this.mask];
      }
      this.size--;
      this.items[(this.head + this.size) & this.mask] = undefined;
      return true;
    }
    return false;
  }

  /** A snapshot, front to back, safe to iterate while the deque changes. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) & this.mask] as T);
    return out;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
