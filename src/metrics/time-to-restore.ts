import type { Stat } from './quantile.js';
import type { IncidentEvent } from '../core/events.js';
import { statistic } from './quantile.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `time_to_restore`: over incidents whose resolve time lies in (at - W, at], the
 * statistic of resolvedAt - createdAt, in seconds. The connector already fills `resolvedAt` from
 * `resolved_at` or, where that is missing, the resolve log entry. No resolved incident: null.
 */
export function timeToRestore(incidents: readonly IncidentEvent[], w: Window, stat: Stat): number | null {
  const values: number[] = [];
  for (const i of incidents) {
    if (i.resolvedAt !== null && inWindow(i.resolvedAt, w)) values.push((i.resolvedAt - i.createdAt) / 1000);
  }
  return statistic(values, stat);
}
