import type { Deployment, DeploymentEvent } from './events.js';

/**
 * The successful deployments of METRICS.md "Deployments": the most recent (non-inactive) status
 * is `success`, `deployed_at` is that status's time. Ordered by (repo, deployed_at, id), so that
 * "previous" and "next" within a repository are neighbours in the result when it deploys to one
 * environment (several: src/metrics/rollbacks.ts `deploymentsByRepo` keeps each apart).
 */
export function successfulDeployments(events: readonly DeploymentEvent[]): Deployment[] {
  const out: Deployment[] = [];
  for (const e of events) {
    if (e.state === 'success' && e.statusAt !== null) {
      out.push({ repo: e.repo, environment: e.environment, id: e.id, sha: e.sha, deployedAt: e.statusAt });
    }
  }
  return out.sort((a, b) =>
    a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : a.deployedAt - b.deployedAt || a.id - b.id,
  );
}
