// The lists of `krt explain` (METRICS.md "Explanations") that several metrics share: the
// deployments of a window with their rollback, failed and rework flags, the incidents and the runs.
// Each follows the definition of the metric function it explains, so that the items listed are
// exactly the ones that entered the value.
import type { Deployment, IncidentEvent, WorkflowRunEvent } from '../../core/events.js';
import { deploymentKey, deploymentsByRepo } from '../rollbacks.js';
import { inWindow, type Window } from '../window.js';
import type { DeploymentCause, ExplainedDeployment, ExplainedIncident, ExplainedRun } from './types.js';

const iso = (t: number): string => new Date(t).toISOString();

/**
 * The successful deployments in the window, each with:
 *   - `rollback`: METRICS.md "Rollback" (`flags`);
 *   - `failed` and `cause`: change_failure_rate's rule: the next deployment of the repository is a
 *     rollback (`{ kind: 'rollback', by }`), else the first incident created in
 *     [deployed_at, min(next.deployed_at, deployed_at + attribution)) (`{ kind: 'incident' }`);
 *   - `rework`: deployment_rework_rate's rule: a rollback, or an incident open at deployed_at.
 * `incidents`: those of the key result's services; null for a key result that reads none (the
 * rollback rules alone).
 */
export function explainDeployments(
  deployments: readonly Deployment[],
  flags: ReadonlyMap<string, boolean>,
  incidents: readonly IncidentEvent[] | null,
  w: Window,
  attributionMs: number,
): ExplainedDeployment[] {
  const byCreation = incidents === null ? null : [...incidents].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: ExplainedDeployment[] = [];
  for (const list of deploymentsByRepo(deployments).values()) {
    list.forEach((d, i) => {
      if (!inWindow(d.deployedAt, w)) return;
      const next = list[i + 1];
      const rollback = flags.get(deploymentKey(d)) === true;
      let cause: DeploymentCause | null = null;
      if (next !== undefined && flags.get(deploymentKey(next))) cause = { kind: 'rollback', by: String(next.id) };
      else if (byCreation !== null) {
        const end = Math.min(next?.deployedAt ?? Infinity, d.deployedAt + attributionMs);
        const first = byCreation.find((x) => x.createdAt >= d.deployedAt && x.createdAt < end);
        if (first) cause = { kind: 'incident', incident: first.id, createdAt: iso(first.createdAt) };
      }
      const open = byCreation?.some((x) => x.createdAt <= d.deployedAt && (x.resolvedAt === null || d.deployedAt < x.resolvedAt)) ?? false;
      out.push({ repository: d.repo, id: String(d.id), sha: d.sha, deployedAt: iso(d.deployedAt), rollback, failed: cause !== null, rework: rollback || open, cause });
    });
  }
  return out;
}

/** An incident of the list; `seconds`: the duration the metric measured, null when none. */
export function explainIncident(i: IncidentEvent, seconds: number | null): ExplainedIncident {
  return { service: i.service, id: i.id, createdAt: iso(i.createdAt), seconds };
}

/** A workflow run of the list, with its duration (updated_at - run_started_at). */
export function explainRun(r: WorkflowRunEvent): ExplainedRun {
  return { repository: r.repo, id: r.id, conclusion: r.conclusion, seconds: (r.updatedAt - r.runStartedAt) / 1000 };
}
