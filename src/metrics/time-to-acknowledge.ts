import type { Stat } from './quantile.js';
import type { IncidentEvent } from '../core/events.js';
import { statistic } from './quantile.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `time_to_acknowledge`: over incidents created in (at - W, at] that were acknowledged,
 * the statistic of (first acknowledge log entry) - createdAt, in seconds. The acknowledgement
 * counts even when it lies after `at` (METRICS.md: everything the source shows counts).
 * Incidents never acknowledged are left out; none left: null.
 */
export function timeToAcknowledge(incidents: readonly IncidentEvent[], w: Window, stat: Stat): number | null {
  const values: number[] = [];
  for (const i of incidents) {
    if (i.acknowledgedAt !== null && inWindow(i.createdAt, w)) values.push((i.acknowledgedAt - i.createdAt) / 1000);
  }
  return statistic(values, stat);
}
