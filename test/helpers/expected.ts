// Independent computations of METRICS.md numbers straight from a simulated GitHub dataset,
// written without the product's code, to check what kr-tracker reports.
import type { GithubDataset, SimCommit } from '../../connectors/github/sim/dataset.js';

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

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A successful deployment read straight from the dataset. */
export interface SimSuccess {
  id: number;
  sha: string;
  deployedAt: number;
  description: string | null;
}

/** The successful deployments of one repository, by (deployed_at, id). */
export function successesOf(dataset: GithubDataset, repo: string, environment: string): SimSuccess[] {
  const r = dataset.repos.find((x) => x.fullName === repo);
  if (!r) throw new Error(`no ${repo} in the dataset`);
  const out: SimSuccess[] = [];
  for (const d of r.deployments) {
    if (d.environment !== environment) continue;
    const real = d.statuses.filter((s) => s.state !== 'inactive');
    real.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    const last = real.at(-1);
    if (last?.state === 'success') out.push({ id: d.id, sha: d.sha, deployedAt: Date.parse(last.created_at), description: d.description });
  }
  return out.sort((a, b) => a.deployedAt - b.deployedAt || a.id - b.id);
}

/** Indexes (in `successesOf` order) of the rollbacks: another sha than the previous one, seen before. */
function rollbackIndexes(list: readonly SimSuccess[]): Set<number> {
  const out = new Set<number>();
  list.forEach((d, i) => {
    if (i === 0 || list[i - 1]!.sha === d.sha) return;
    if (list.slice(0, i).some((e) => e.sha === d.sha)) out.add(i);
  });
  return out;
}

export function expectedRollbackCount(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): number {
  const from = at - windowDays * DAY_MS;
  let n = 0;
  for (const repo of repos) {
    const list = successesOf(dataset, repo, environment);
    for (const i of rollbackIndexes(list)) if (list[i]!.deployedAt > from && list[i]!.deployedAt <= at) n++;
  }
  return n;
}

export function expectedRollbackRate(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): number | null {
  const from = at - windowDays * DAY_MS;
  const total = repos.flatMap((r) => successesOf(dataset, r, environment)).filter((d) => d.deployedAt > from && d.deployedAt <= at).length;
  return total === 0 ? null : expectedRollbackCount(dataset, repos, environment, at, windowDays) / total;
}

/** `incidentTimes` null: a KR without services (the rollback rule alone). */
export function expectedChangeFailureRate(
  dataset: GithubDataset,
  repos: string[],
  environment: string,
  incidentTimes: number[] | null,
  at: number,
  windowDays: number,
  attributionMs: number,
): number | null {
  const from = at - windowDays * DAY_MS;
  let total = 0;
  let failed = 0;
  for (const repo of repos) {
    const list = successesOf(dataset, repo, environment);
    const rollbacks = rollbackIndexes(list);
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      if (d.deployedAt <= from || d.deployedAt > at) continue;
      total++;
      const next = list[i + 1];
      const until = next ? Math.min(next.deployedAt, d.deployedAt + attributionMs) : d.deployedAt + attributionMs;
      const rolledBack = rollbacks.has(i + 1);
      const incident = (incidentTimes ?? []).some((t) => t >= d.deployedAt && t < until);
      if (rolledBack || incident) failed++;
    }
  }
  return total === 0 ? null : failed / total;
}

/** Every commit of a simulated repository by sha: the default branch's line and the others. */
function commitMap(dataset: GithubDataset, repo: string): Map<string, SimCommit> {
  const r = dataset.repos.find((x) => x.fullName === repo);
  if (!r) throw new Error(`no ${repo} in the dataset`);
  return new Map([...r.branchCommits, ...r.commits].map((c) => [c.sha, c]));
}

/** The sha and everything reachable from it through parents. */
function reachable(commits: Map<string, SimCommit>, sha: string): Set<string> {
  const seen = new Set<string>();
  const todo = [sha];
  for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
    if (seen.has(x)) continue;
    if (!commits.has(x)) throw new Error(`commit ${x} is not in the dataset`);
    seen.add(x);
    todo.push(...commits.get(x)!.parents);
  }
  return seen;
}

/**
 * What GitHub's `compare/{base}...{head}` lists: the commits reachable from head and not from base
 * (`git log base..head`), oldest committer date first.
 */
export function expectedCompare(dataset: GithubDataset, repo: string, base: string, head: string): SimCommit[] {
  const commits = commitMap(dataset, repo);
  const hidden = reachable(commits, base);
  return [...reachable(commits, head)]
    .filter((sha) => !hidden.has(sha))
    .map((sha) => commits.get(sha)!)
    .sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
}

/**
 * Lead time over the simulated commit graph: a deployment D with a previous deployment P ships the
 * commits of compare(P, D) (reachable from D, not from P) that no earlier deployment shipped and
 * that are not the sha of an earlier deployment (none for a redeploy or a rollback).
 */
export function expectedLeadTimes(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): number[] {
  const from = at - windowDays * DAY_MS;
  const values: number[] = [];
  for (const repo of repos) {
    const commits = commitMap(dataset, repo);
    const deployed = new Set<string>();
    let prev: SimSuccess | null = null;
    for (const d of successesOf(dataset, repo, environment)) {
      if (!commits.has(d.sha)) throw new Error(`deployed sha ${d.sha} is not in the dataset`);
      if (prev !== null && prev.sha !== d.sha) {
        const hidden = reachable(commits, prev.sha);
        for (const sha of reachable(commits, d.sha)) {
          if (hidden.has(sha) || deployed.has(sha)) continue;
          deployed.add(sha);
          if (d.deployedAt > from && d.deployedAt <= at) values.push((d.deployedAt - Date.parse(commits.get(sha)!.date)) / 1000);
        }
      }
      deployed.add(d.sha);
      prev = d;
    }
  }
  return values;
}

/** METRICS.md statistics: type-7 quantiles and the mean; null without values. */
export function expectedStatistic(values: number[], stat: 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'mean'): number | null {
  if (values.length === 0) return null;
  if (stat === 'mean') return values.reduce((a, b) => a + b, 0) / values.length;
  const p = { p50: 0.5, p75: 0.75, p90: 0.9, p95: 0.95, p99: 0.99 }[stat];
  const xs = [...values].sort((a, b) => a - b);
  const h = (xs.length - 1) * p;
  const f = Math.floor(h);
  return f + 1 < xs.length ? xs[f]! + (h - f) * (xs[f + 1]! - xs[f]!) : xs[f]!;
}

/** METRICS.md time_to_restore straight from a simulated PagerDuty dataset, as PagerDuty shows it at `now`. */
export function expectedTimeToRestore(
  dataset: { incidents: { service_id: string; created_at: string; log_entries: { type: string; created_at: string }[] }[] },
  services: string[],
  at: number,
  windowDays: number,
  p: number,
  now = at,
): number | null {
  const from = at - windowDays * 86_400_000;
  const values: number[] = [];
  for (const i of dataset.incidents.filter((x) => services.includes(x.service_id))) {
    const resolve = i.log_entries.find((e) => e.type === 'resolve_log_entry' && Date.parse(e.created_at) <= now);
    if (!resolve) continue;
    const resolvedAt = Date.parse(resolve.created_at);
    if (resolvedAt > from && resolvedAt <= at) values.push((resolvedAt - Date.parse(i.created_at)) / 1000);
  }
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const h = (values.length - 1) * p;
  const lo = Math.floor(h);
  return values[lo]! + (h - lo) * (values[Math.min(lo + 1, values.length - 1)]! - values[lo]!);
}

/** METRICS.md ci_duration (seconds) from the simulated runs of one workflow on one branch. */
export function expectedCiDuration(dataset: GithubDataset, repos: string[], workflow: string, branch: string, at: number, windowDays: number, p: number): number | null {
  const from = at - windowDays * 86_400_000;
  const values = dataset.repos
    .filter((r) => repos.includes(r.fullName))
    .flatMap((r) => r.runs)
    .filter((run) => run.workflow === workflow && run.head_branch === branch && run.status === 'completed' && run.conclusion === 'success')
    .filter((run) => Date.parse(run.created_at) > from && Date.parse(run.created_at) <= at)
    .map((run) => (Date.parse(run.updated_at) - Date.parse(run.run_started_at)) / 1000);
  return expectedStatistic(values, p === 0.5 ? 'p50' : p === 0.9 ? 'p90' : 'p99');
}

/**
 * METRICS.md test_coverage: the most recent successful run (by created_at, at or before `at`) of the
 * workflow on the branch with a downloadable `coverage` artifact, read the way each format reports it.
 */
export function expectedCoverage(dataset: GithubDataset, repo: string, workflow: string, branch: string, at: number, now = at): number | null {
  const runs = dataset.repos
    .find((r) => r.fullName === repo)!
    .runs.filter((run) => run.workflow === workflow && run.head_branch === branch && run.conclusion === 'success' && Date.parse(run.created_at) <= at)
    .filter((run) => run.artifacts.some((a) => a.name === 'coverage' && a.coverage && !a.expired && Date.parse(a.expires_at) > now))
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
  const report = runs[0]?.artifacts.find((a) => a.name === 'coverage')?.coverage;
  if (!report) return null;
  const lines = report.files.reduce((n, f) => n + f.lines, 0);
  const covered = report.files.reduce((n, f) => n + f.covered, 0);
  if (report.format === 'istanbul-summary') return Math.floor((10000 * covered) / lines) / 100 / 100;
  if (report.format === 'cobertura') return Number((covered / lines).toPrecision(4));
  return covered / lines;
}
