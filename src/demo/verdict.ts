// Which side did better on each figure of a scenario: the report colours a cell green where its side did
// better than the other, red where it did worse, and leaves it plain where both did the same. Nothing is
// green just for being lifeline's.

import type { ExtraFigure } from './driver.js';
import type { SideResult } from './metrics.js';
import type { ScenarioResult } from './runner.js';

export type Verdict = 'better' | 'worse' | 'equal';

export type FigureKey = 'ok' | 'errors' | 'hung' | 'p50' | 'p99' | 'max' | 'recovery' | 'events' | 'writes';

/**
 * A figure as a number to compare, with the direction that is better. `undefined`: the figure does not
 * apply to this scenario (no fault to recover from, no writes to lose), so neither side is better.
 */
const FIGURES: Record<
  FigureKey,
  { higherIsBetter: boolean; value(s: SideResult, r: ScenarioResult): number | undefined }
> = {
  ok: { higherIsBetter: true, value: (s) => s.ok },
  errors: { higherIsBetter: false, value: (s) => s.errors },
  hung: { higherIsBetter: false, value: (s) => s.hung },
  p50: { higherIsBetter: false, value: (s) => s.latencyMs.p50 },
  p99: { higherIsBetter: false, value: (s) => s.latencyMs.p99 },
  max: { higherIsBetter: false, value: (s) => s.latencyMs.max },
  // Compared as shown, in hundredths of a second (two sides that read "0.01 s" did the same); never
  // recovering is worse than any recovery time.
  recovery: {
    higherIsBetter: false,
    value: (s, r) => {
      if (r.faultTimesMs.length === 0) return undefined;
      return s.recoveryMs === null ? Number.POSITIVE_INFINITY : Math.round(s.recoveryMs / 10);
    },
  },
  events: { higherIsBetter: false, value: (s) => s.uncaughtErrorEvents },
  writes: {
    higherIsBetter: false,
    value: (s, r) => (r.kind === 'write' ? s.lostWrites + s.doubledWrites : undefined),
  },
};

/** How `side` did on `figure` (a shared one, or a driver's extra figure) compared with the other side. */
export function verdict(
  figure: FigureKey | ExtraFigure,
  side: 'naive' | 'lifeline',
  r: ScenarioResult,
): Verdict {
  const { higherIsBetter, value } =
    typeof figure === 'string'
      ? FIGURES[figure]
      : { higherIsBetter: !figure.lowerIsBetter, value: (s: SideResult) => s.extras[figure.key] };
  const mine = value(r[side], r);
  const theirs = value(r[side === 'naive' ? 'lifeline' : 'naive'], r);
  if (mine === undefined || theirs === undefined || mine === theirs) return 'equal';
  return mine > theirs === higherIsBetter ? 'better' : 'worse';
}
