import type { Deployment, IncidentEvent } from '../core/events.js';
import { deploymentKey, deploymentsByRepo, rollbackFlags } from './rollbacks.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `change_failure_rate`: among successful deployments D in the window, the fraction
 * that failed. D failed when the next deployment of its repository and environment is a rollback, or when an
 * incident was created in [D.deployed_at, min(next.deployed_at, D.deployed_at + attribution)).
 * `incidents` are those of the KR's services; null for a KR without services (rollback rule only).
 * The next deployment and incidents count even when they lie after `w.at` (METRICS.md common
 * rules). null (no data) when nothing was deployed in the window. `known`: what the caller
 * derived already from the same deployments and incidents (one walk for several windows).
 */
export function changeFailureRate(
  deployments: readonly Deployment[],
  incidents: readonly IncidentEvent[] | null,
  w: Window,
  attributionMs: number,
  known: { flags?: ReadonlyMap<string, boolean>; byRepo?: ReadonlyMap<string, Deployment[]>; incidentTimes?: readonly number[] | null } = {},
): number | null {
  const flags = known.flags ?? rollbackFlags(deployments);
  const incidentTimes = known.incidentTimes !== undefined ? known.incidentTimes : incidentTimesOf(incidents);
  let total = 0;
  let failed = 0;
  for (const list of (known.byRepo ?? deploymentsByRepo(deployments)).values()) {
    list.forEach((d, i) => {
      if (!inWindow(d.deployedAt, w)) return;
      total++;
      const next = list[i + 1];
      if (next !== undefined && flags.get(deploymentKey(next))) {
        failed++;
        return;
      }
      if (incidentTimes === null) return;
      const end = Math.min(next?.deployedAt ?? Infinity, d.deployedAt + attributionMs);
      if (anyIn(incidentTimes, d.deployedAt, end)) failed++;
    });
  }
  return total === 0 ? null : failed / total;
}

/** Creation times of the incidents, sorted; null for none given. */
export function incidentTimesOf(incidents: readonly IncidentEvent[] | null): number[] | null {
  return incidents === null ? null : incidents.map((i) => i.createdAt).sort((a, b) => a - b);
}

/** Whether sorted `times` has a value in [from, to). */
function anyIn(times: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < times.length && (times[lo] as number) < to;
}
