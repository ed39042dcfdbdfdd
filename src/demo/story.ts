// What happened in a scenario, in a sentence a person reads, from the numbers alone.

import type { DriverLabels } from './driver.js';
import type { SideResult } from './metrics.js';
import type { ScenarioResult } from './runner.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function sideStory(side: SideResult, name: string): string {
  const parts: string[] = [];
  if (side.hung > 0) parts.push(`${plural(side.hung, 'request')} hung with no end in sight`);
  if (side.errors > 0) {
    const top = side.errorMessages[0];
    parts.push(
      `the application saw ${plural(side.errors, 'error')}${top ? ` (mostly "${top.message}")` : ''}`,
    );
  }
  if (side.doubledWrites > 0) parts.push(`${plural(side.doubledWrites, 'write')} applied twice by a retry`);
  if (side.lostWrites > 0) parts.push(`${plural(side.lostWrites, 'acknowledged write')} missing`);
  if (side.uncaughtErrorEvents > 0) {
    parts.push(
      `the pool emitted ${plural(side.uncaughtErrorEvents, "'error' event")}, each a process crash without a listener`,
    );
  }
  if (parts.length === 0) {
    const recovered =
      side.recoveryMs === null ? '' : `, back to speed ${side.recoveryMs} ms after the last fault action`;
    return `${name}: no errors, nothing hung, p99 ${side.latencyMs.p99} ms${recovered}`;
  }
  return `${name}: ${parts.join('; ')}`;
}

type Names = Pick<DriverLabels, 'naive' | 'lifeline'>;

export function story(result: ScenarioResult, labels: Names): string {
  return `${sideStory(result.naive, labels.naive)}. ${sideStory(result.lifeline, labels.lifeline)}.`;
}

function totals(results: readonly ScenarioResult[], pick: (r: ScenarioResult) => SideResult): string {
  let errors = 0;
  let readErrors = 0;
  let hung = 0;
  let doubled = 0;
  let events = 0;
  for (const r of results) {
    const s = pick(r);
    errors += s.errors;
    readErrors += s.readErrors;
    hung += s.hung;
    doubled += s.doubledWrites;
    events += s.uncaughtErrorEvents;
  }
  return `${plural(errors, 'error')} (${readErrors} on reads), ${plural(hung, 'hung request')}, ${plural(doubled, 'doubled write')}, ${plural(events, "'error' event")}`;
}

/** The whole run in one sentence per side. */
export function overall(results: readonly ScenarioResult[], labels: Names): string {
  return (
    `In all: ${labels.naive}'s callers saw ${totals(results, (r) => r.naive)}; ` +
    `${labels.lifeline}'s saw ${totals(results, (r) => r.lifeline)}.`
  );
}
