// Housekeeping: a periodic, unref'd task over the idle resources (dead ones retired, lifetime with jitter,
// idle timeout above min, idle ones above maxIdle, keepalive checks) and the lent-out ones (leak detection),
// then creates up to min.
import { poolPreciseNow } from './clock.js';
import type { PoolCore } from './core.js';
import { type Entry, EntryState } from './entry.js';

const { Busy } = EntryState;

export class Housekeeper<T> {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly core: PoolCore<T>) {
    const o = core.options;
    // A quarter of the finest duration it watches, between 10 ms and 1 s.
    const finest = Math.min(o.idleTimeoutMs, o.keepaliveIntervalMs, o.leakDetectionMs, o.maxLifetimeMs);
    const everyMs = Math.min(1000, Math.max(10, finest / 4));
    this.timer = setInterval(() => this.run(), everyMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  run(): void {
    const core = this.core;
    if (core.state !== 'open') return;
    const now = poolPreciseNow();
    const o = core.options;
    // Front to back is least to most recently released, so idle timeout removes the coldest first.
    for (const entry of core.idle.toArray()) {
      if (core.checker.retireIfUnusable(entry, now)) continue;
      if (now - entry.idleSince >= o.idleTimeoutMs && core.entries.size > o.min) {
        core.destroy(entry, 'idle-timeout');
      } else if (now - entry.verifiedAt >= o.keepaliveIntervalMs) {
        core.idle.remove(entry);
        core.checker.start(entry, undefined);
      }
    }
    // Above maxIdle: the coldest go first (mysql2's maxIdle).
    while (core.idle.length > o.maxIdle && core.entries.size > o.min) {
      core.destroy(core.idle.peek() as Entry<T>, 'idle-timeout');
    }
    if (core.leakDetection) {
      for (const entry of core.entries.values()) {
        if (entry.state !== Busy || now < entry.leakCheckAt) continue;
        entry.leakCheckAt = Number.POSITIVE_INFINITY;
        core.leaks++;
        const stack = entry.acquireSite?.stack ?? '(no stack)';
        core.events.emit('leak', { resource: entry.resource, heldMs: now - entry.acquiredAt, stack });
      }
    }
    core.creator.pump();
  }
}
