// In-process peers for the PeerSet tests: each answers after its own delay, can be made to fail or to go
// silent, and counts what it was asked. They are the transport a user would pass (an async function).
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncidentLine } from '../../src/peers/index.js';

export interface FakePeerBehaviour {
  delayMs: number;
  /** Rejects each call with this error (after the delay). */
  fail?: Error & { code?: string };
  /** Never answers, ignoring the signal. */
  silent?: boolean;
  /** Ignores the call's AbortSignal and answers anyway (a late answer). */
  ignoreSignal?: boolean;
}

/** n peers named p0…p(n-1), each with a behaviour the test changes while it runs. */
export function makePeers(
  n: number,
  delayMs = 2,
): { names: string[]; behaviour: Map<string, FakePeerBehaviour> } {
  const names = Array.from({ length: n }, (_, i) => `p${i}`);
  return { names, behaviour: new Map(names.map((name) => [name, { delayMs }])) };
}

/** The transport for makePeers(): resolves with the peer's name. */
export function transport(behaviour: Map<string, FakePeerBehaviour>) {
  return async (peer: string, signal: AbortSignal): Promise<string> => {
    const b = behaviour.get(peer)!;
    if (b.silent) return new Promise<string>(() => {});
    await sleep(b.delayMs, undefined, b.ignoreSignal ? {} : { signal });
    if (b.fail) throw b.fail;
    return peer;
  };
}

/** A logger that keeps the lines; `next(kind)` resolves at the next line of that kind. */
export function collectLines(): {
  lines: IncidentLine[];
  logger: (line: IncidentLine) => void;
  next(kind: IncidentLine['kind']): Promise<IncidentLine>;
} {
  const lines: IncidentLine[] = [];
  let waiters: Array<{ kind: IncidentLine['kind']; resolve: (line: IncidentLine) => void }> = [];
  return {
    lines,
    logger(line) {
      lines.push(line);
      const due = waiters.filter((w) => w.kind === line.kind);
      waiters = waiters.filter((w) => w.kind !== line.kind);
      for (const w of due) w.resolve(line);
    },
    next(kind) {
      return new Promise((resolve) => waiters.push({ kind, resolve }));
    },
  };
}

/** A virtual monotonic clock. */
export function virtualClock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

export function refused(): Error & { code: string } {
  return Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
}
