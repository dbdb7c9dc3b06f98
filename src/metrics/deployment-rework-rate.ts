import type { Deployment, IncidentEvent } from '../core/events.js';
import { deploymentKey, rollbackFlags } from './rollbacks.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `deployment_rework_rate` (DORA 2024): among successful deployments D in the window,
 * the fraction that are rework. D is rework when it is a rollback, or when an incident of the KR's
 * services was open at D.deployed_at: created at or before it and unresolved, or resolved after it
 * (`resolvedAt` is filled as for time_to_restore: `resolved_at`, else the resolve log entry).
 * `incidents`: null for a KR without services (rollbacks only). null (no data) when nothing was
 * deployed in the window. `known.flags`: rollbackFlags(deployments), when the caller has it.
 */
export function deploymentReworkRate(
  deployments: readonly Deployment[],
  incidents: readonly IncidentEvent[] | null,
  w: Window,
  known: { flags?: ReadonlyMap<string, boolean>; open?: OpenIncidents | null } = {},
): number | null {
  const flags = known.flags ?? rollbackFlags(deployments);
  const open = known.open !== undefined ? known.open : openIncidentsOf(incidents);
  let total = 0;
  let rework = 0;
  for (const d of deployments) {
    if (!inWindow(d.deployedAt, w)) continue;
    total++;
    if (flags.get(deploymentKey(d)) || (open !== null && open.openAt(d.deployedAt))) rework++;
  }
  return total === 0 ? null : rework / total;
}

/** Whether some incident was open at an instant: created at or before it, not resolved by it. */
export interface OpenIncidents {
  openAt(t: number): boolean;
}

/**
 * The incidents as intervals [createdAt, resolvedAt) (an open one never ends), sorted by start,
 * with the latest end so far: an instant t is covered when the latest end among the incidents
 * created at or before t lies after t. null for none given.
 */
export function openIncidentsOf(incidents: readonly IncidentEvent[] | null): OpenIncidents | null {
  if (incidents === null) return null;
  const sorted = incidents.map((i) => [i.createdAt, i.resolvedAt ?? Infinity] as const).sort((a, b) => a[0] - b[0]);
  const starts = sorted.map((x) => x[0]);
  const maxEnd: number[] = [];
  let m = -Infinity;
  for (const [, end] of sorted) maxEnd.push((m = Math.max(m, end)));
  return {
    openAt(t) {
      // The last incident created at or before t.
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((starts[mid] as number) <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo > 0 && (maxEnd[lo - 1] as number) > t;
    },
  };
}
