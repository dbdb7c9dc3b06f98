import type { Deployment, WorkflowRunEvent } from '../core/events.js';

/**
 * METRICS.md "Deployments", `source: workflow`: completed runs with conclusion `success` are the
 * successful deployments; `deployed_at` = run `updated_at`, `sha` = `head_sha`, id = the run id.
 * `workflow` and `branch`, when given, keep only runs of that workflow file and branch (the
 * caller may also pass runs already filtered). Ordered like `successfulDeployments`:
 * (repo, deployed_at, id).
 */
export function deploymentsFromRuns(
  runs: readonly WorkflowRunEvent[],
  filter: { workflow?: string; branch?: string } = {},
): Deployment[] {
  const out: Deployment[] = [];
  for (const r of runs) {
    if (r.status !== 'completed' || r.conclusion !== 'success') continue;
    if (filter.workflow !== undefined && r.workflow !== filter.workflow) continue;
    if (filter.branch !== undefined && r.branch !== filter.branch) continue;
    out.push({ repo: r.repo, id: r.id, sha: r.headSha, deployedAt: r.updatedAt });
  }
  return out.sort((a, b) =>
    a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : a.deployedAt - b.deployedAt || a.id - b.id,
  );
}
