// One pending acquire: its promise, deadline, signal and state. A new one per queued acquire: it lives only
// while its caller waits, so it dies young (a recycled waiter is old, and every new promise and resolver
// stored into it went through the write barrier; see docs/pool.md, Performance, for what that measured).

/** Where an acquire call is: queued, holding a reserved resource under check, or answered. */
export const WaiterState = { Queued: 1, Reserved: 2, Settled: 3 } as const;
export type WaiterState = (typeof WaiterState)[keyof typeof WaiterState];

/** What a waiter calls back into when its AbortSignal fires. */
export interface WaiterOwner<T> {
  abortWaiter(waiter: Waiter<T>): void;
}

/**
 * One pending acquire. It is its own abort listener (`handleEvent`), so listening to a signal allocates
 * no closure. The promise's executor is written inline in the constructor, where the optimizing compiler
 * inlines it into the allocation.
 */
export class Waiter<T> {
  state: WaiterState = WaiterState.Queued;
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: Error) => void;
  readonly owner: WaiterOwner<T>;
  /** When the acquire began (pool clock): its wait is reported to an observer. */
  readonly queuedAt: number;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  site: Error | undefined;

  constructor(
    owner: WaiterOwner<T>,
    queuedAt: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    site: Error | undefined,
  ) {
    this.owner = owner;
    this.queuedAt = queuedAt;
    this.deadline = queuedAt + timeoutMs;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.site = site;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (signal !== undefined) signal.addEventListener('abort', this);
  }

  /** Reserved for a resource under check. */
  reserve(): void {
    this.state = WaiterState.Reserved;
  }

  handleEvent(): void {
    this.owner.abortWaiter(this);
  }

  fulfil(value: T): void {
    this.settle();
    this.resolve(value);
  }

  fail(error: Error): void {
    this.settle();
    this.reject(error);
  }

  private settle(): void {
    this.state = WaiterState.Settled;
    if (this.signal !== undefined) this.signal.removeEventListener('abort', this);
  }
}
