import type { IncidentEvent } from '../core/events.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `incident_count`: incidents created in (at - W, at], optionally only those of one
 * urgency (the incident's current urgency as PagerDuty shows it). A count: an empty window is 0.
 */
export function incidentCount(incidents: readonly IncidentEvent[], w: Window, urgency: 'high' | 'low' | null): number {
  let n = 0;
  for (const i of incidents) if (inWindow(i.createdAt, w) && (urgency === null || i.urgency === urgency)) n++;
  return n;
}
