// node-redis commands' overall deadline (lifeline.commandDeadlineMs): a command settles by it, resends included;
// one still queued in node-redis (not written) is withdrawn through the driver's own abort signal.

/** The attempts of one command under a deadline, shared with the attempt loop (node-redis.ts `run`). */
export interface Tries {
  /** Set when the deadline passed: no resend starts after it, and no attempt's outcome settles the command. */
  expired: boolean;
  /** Attempts started. */
  count: number;
  /** The last attempt's failure: the deadline error's cause. */
  lastError: unknown;
  /** The attempt in flight at the deadline was still queued in the driver and was withdrawn (never written). */
  withdrawn: boolean;
}

type Abortable = {
  withAbortSignal?: (signal: AbortSignal) => unknown;
  withCommandOptions?: (options: { abortSignal: AbortSignal; timeout: undefined }) => unknown;
  _commandOptions?: { abortSignal?: unknown };
};

/** The deadline's signal, joined with the caller's own (`client.withAbortSignal(s).get(…)`) when there is one. */
function joined(client: Abortable, deadline: AbortSignal): AbortSignal {
  const own = client._commandOptions?.abortSignal;
  if (!(own instanceof AbortSignal)) return deadline;
  // AbortSignal.any is Node ≥ 20.3; before it the caller's signal is kept and the deadline only times.
  return typeof AbortSignal.any === 'function' ? AbortSignal.any([own, deadline]) : own;
}

/**
 * Runs `start` (the attempt loop) on a view of `client` that carries an abort signal, when the client has
 * one (node-redis's withAbortSignal: a plain client; a cluster or sentinel has none, and is only timed). The
 * view drops node-redis's own timeout of a queued command (`commandOptions.timeout`, 5 s by default, an
 * untyped TimeoutError): the deadline covers that wait. At the deadline: the signal aborts (node-redis drops
 * the command if it was not written, rejecting it with AbortError), and once that rejection had its turn the
 * command fails with `fail(tries)`. Settled by the attempts before then.
 */
export function withDeadline<C extends object>(
  deadlineMs: number,
  client: C,
  start: (view: C, tries: Tries) => Promise<unknown>,
  fail: (tries: Tries) => Error,
): Promise<unknown> {
  const tries: Tries = { expired: false, count: 0, lastError: undefined, withdrawn: false };
  const { withAbortSignal, withCommandOptions } = client as Abortable;
  const controller =
    typeof withAbortSignal === 'function' && typeof withCommandOptions === 'function'
      ? new AbortController()
      : undefined;
  const view =
    controller === undefined
      ? client
      : (Reflect.apply(withCommandOptions as () => C, client, [
          { abortSignal: joined(client, controller.signal), timeout: undefined },
        ]) as C);
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      tries.expired = true;
      controller?.abort();
      // node-redis rejects a withdrawn command within this turn's microtasks: the verdict waits for them.
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(fail(tries));
      });
    }, deadlineMs);
    start(view, tries).then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        if (tries.expired) {
          if (!tries.withdrawn) tries.lastError = error;
          return;
        }
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
