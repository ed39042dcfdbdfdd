/** Where an acquire call is: queued, holding a reserved resource under check, or answered. */
export const WaiterState = { Queued: 1, Reserved: 2, Settled: 3 } as const;
export type WaiterState = (typeof WaiterState)[keyof typeof WaiterState];

/** What a waiter calls back into when its AbortSignal fires. */
export interface WaiterOwner<T> {
  abortWaiter(waiter: Waiter<T>): void;
}

// The Promise executor is a shared function reading this slot instead of a closure made per acquire.
let binding: Waiter<never> | undefined;
function bind(resolve: (value: never) => void, reject: (error: Error) => void): void {
  const waiter = binding!;
  waiter.resolve = resolve;
  waiter.reject = reject;
}

/**
 * One pending acquire. It is its own abort listener (`handleEvent`), so listening to a signal allocates
 * no closure either.
 */
export class Waiter<T> {
  state: WaiterState = WaiterState.Queued;
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: Error) => void;
  readonly owner: WaiterOwner<T>;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly site: Error | undefined;

  constructor(
    owner: WaiterOwner<T>,
    deadline: number,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    site: Error | undefined,
  ) {
    this.owner = owner;
    this.deadline = deadline;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.site = site;
    binding = this as unknown as Waiter<never>;
    this.promise = new Promise<T>(
      bind as (resolve: (value: T) => void, reject: (error: Error) => void) => void,
    );
    binding = undefined;
    if (signal !== undefined) signal.addEventListener('abort', this);
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
