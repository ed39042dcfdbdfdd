// One pending acquire: its promise, deadline, signal and state. Reused once answered when nothing else can
// still refer to it (see WaiterQueue.recycle).

/** Where an acquire call is: queued, holding a reserved resource under check, or answered. */
export const WaiterState = { Queued: 1, Reserved: 2, Settled: 3 } as const;
export type WaiterState = (typeof WaiterState)[keyof typeof WaiterState];

/** What a waiter calls back into when its AbortSignal fires. */
export interface WaiterOwner<T> {
  abortWaiter(waiter: Waiter<T>): void;
  /** Takes back a fulfilled waiter nothing refers to any more, for reuse. */
  recycle(waiter: Waiter<T>): void;
}

/**
 * One pending acquire. It is its own abort listener (`handleEvent`), so listening to a signal allocates
 * no closure either.
 */
export class Waiter<T> {
  state: WaiterState = WaiterState.Queued;
  promise!: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: Error) => void;
  readonly owner: WaiterOwner<T>;
  deadline = 0;
  timeoutMs = 0;
  /** When the acquire began (pool clock): its wait is reported to an observer. */
  queuedAt = 0;
  signal: AbortSignal | undefined = undefined;
  site: Error | undefined = undefined;
  /** Once reserved for a check, a timer may still hold it: such a waiter is never reused. */
  reserved = false;

  // Made once per waiter and kept across reuses, so a new promise costs no closure of ours.
  private readonly executor: (resolve: (value: T) => void, reject: (error: Error) => void) => void;

  constructor(owner: WaiterOwner<T>) {
    this.owner = owner;
    this.executor = (resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    };
  }

  /** (Re)starts it as a new, queued acquire with a new promise. */
  init(deadline: number, timeoutMs: number, signal: AbortSignal | undefined, site: Error | undefined): this {
    this.state = WaiterState.Queued;
    this.deadline = deadline;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.site = site;
    this.promise = new Promise<T>(this.executor);
    if (signal !== undefined) signal.addEventListener('abort', this);
    return this;
  }

  /** Reserved for a resource under check. */
  reserve(): void {
    this.state = WaiterState.Reserved;
    this.reserved = true;
  }

  handleEvent(): void {
    this.owner.abortWaiter(this);
  }

  fulfil(value: T): void {
    this.settle();
    const resolve = this.resolve;
    // Only the queue and the pool's lending code referred to a waiter that was never reserved and had no
    // signal; both are done with it now.
    if (!this.reserved && this.signal === undefined) this.owner.recycle(this);
    resolve(value);
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
