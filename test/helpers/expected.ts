// Independent computations of METRICS.md numbers straight from a simulated GitHub dataset,
// written without the product's code, to check what kr-tracker reports.
import type { GithubDataset } from '../../connectors/github/sim/dataset.js';

/** deployed_at of every successful deployment (most recent non-inactive status = success). */
export function successfulDeployTimes(dataset: GithubDataset, repos: string[], environment: string): number[] {
  const out: number[] = [];
  for (const repo of dataset.repos.filter((r) => repos.includes(r.fullName))) {
    for (const d of repo.deployments.filter((x) => x.environment === environment)) {
      const real = d.statuses.filter((s) => s.state !== 'inactive');
      real.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
      const last = real.at(-1);
      if (last?.state === 'success') out.push(Date.parse(last.created_at));
    }
  }
  return out;
}

export function expectedDeploymentFrequency(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): number {
  const from = at - windowDays * 86_400_000;
  return successfulDeployTimes(dataset, repos, environment).filter((t) => t > from && t <= at).length / windowDays;
}
