// Independent computations of METRICS.md `deployment_rework_rate` and `pr_cycle_time` straight
// from the simulated GitHub and PagerDuty datasets, written without the product's code.
import type { GithubDataset, SimCommit, SimPull } from '../../connectors/github/sim/dataset.js';
import { successesOf } from './expected.js';

const DAY_MS = 86_400_000;

/** An incident as PagerDuty shows it at `now`: resolved at its first resolve log entry (null: open). */
export interface OpenInterval {
  createdAt: number;
  resolvedAt: number | null;
}

export function incidentIntervals(
  dataset: { incidents: { service_id: string; created_at: string; log_entries: { type: string; created_at: string }[] }[] },
  services: string[],
  now: number,
): OpenInterval[] {
  return dataset.incidents
    .filter((i) => services.includes(i.service_id) && Date.parse(i.created_at) <= now)
    .map((i) => {
      const resolve = i.log_entries.find((e) => e.type === 'resolve_log_entry' && Date.parse(e.created_at) <= now);
      return { createdAt: Date.parse(i.created_at), resolvedAt: resolve ? Date.parse(resolve.created_at) : null };
    });
}

/** Whether any incident was open at `t`: created at or before it and not resolved by then. */
function openAt(incidents: readonly OpenInterval[], t: number): boolean {
  return incidents.some((i) => i.createdAt <= t && (i.resolvedAt === null || t < i.resolvedAt));
}

export interface ReworkCount {
  total: number;
  rollbacks: number;
  /** Deployments that are rework because an incident was open (rollbacks or not). */
  duringIncident: number;
  rework: number;
  rate: number | null;
}

/** Rework among successful deployments in (at - W, at]: rollbacks, and deployments during an open incident (`incidents` null: none counted). */
export function expectedRework(dataset: GithubDataset, repos: string[], environment: string, incidents: readonly OpenInterval[] | null, at: number, windowDays: number): ReworkCount {
  const from = at - windowDays * DAY_MS;
  const out: ReworkCount = { total: 0, rollbacks: 0, duringIncident: 0, rework: 0, rate: null };
  for (const repo of repos) {
    const list = successesOf(dataset, repo, environment);
    list.forEach((d, i) => {
      if (d.deployedAt <= from || d.deployedAt > at) return;
      out.total++;
      const rollback = i > 0 && list[i - 1]!.sha !== d.sha && list.slice(0, i).some((e) => e.sha === d.sha);
      const during = incidents !== null && openAt(incidents, d.deployedAt);
      if (rollback) out.rollbacks++;
      if (during) out.duringIncident++;
      if (rollback || during) out.rework++;
    });
  }
  out.rate = out.total === 0 ? null : out.rework / out.total;
  return out;
}

export type Stage = 'coding' | 'review' | 'deploy' | 'total';

export interface ShippedPull {
  repo: string;
  pull: SimPull;
  deployedAt: number;
  /** Earliest author date among the PR's commits (GitHub lists the first 250). */
  firstCommit: number;
}

function reachable(commits: Map<string, SimCommit>, sha: string): Set<string> {
  const seen = new Set<string>();
  const todo = [sha];
  for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
    if (seen.has(x) || !commits.has(x)) continue;
    seen.add(x);
    todo.push(...commits.get(x)!.parents);
  }
  return seen;
}

/**
 * The merged pull requests shipped by successful deployments in (at - W, at]: a deployment D with a
 * previous one P ships the commits reachable from D and not from P that no earlier deployment
 * shipped; a PR is shipped by D when its merge commit is one of them (PRs into the default branch).
 */
export function expectedShippedPulls(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): ShippedPull[] {
  const from = at - windowDays * DAY_MS;
  const out: ShippedPull[] = [];
  for (const repo of repos) {
    const r = dataset.repos.find((x) => x.fullName === repo)!;
    const commits = new Map([...r.branchCommits, ...r.commits].map((c) => [c.sha, c]));
    const byMerge = new Map((r.pulls ?? []).filter((p) => p.merged_at !== null && p.base === r.defaultBranch).map((p) => [p.merge_commit_sha!, p]));
    const shipped = new Set<string>();
    let prev: { sha: string } | null = null;
    for (const d of successesOf(dataset, repo, environment)) {
      if (prev !== null && prev.sha !== d.sha) {
        const before = reachable(commits, prev.sha);
        for (const sha of reachable(commits, d.sha)) {
          if (before.has(sha) || shipped.has(sha)) continue;
          shipped.add(sha);
          const pull = byMerge.get(sha);
          if (pull && d.deployedAt > from && d.deployedAt <= at) {
            const firstCommit = Math.min(...pull.commits.slice(0, 250).map((c) => Date.parse(c.authorDate)));
            out.push({ repo, pull, deployedAt: d.deployedAt, firstCommit });
          }
        }
      }
      shipped.add(d.sha);
      prev = d;
    }
  }
  return out;
}

/** Seconds of one stage for each shipped PR. */
export function expectedStageSeconds(shipped: readonly ShippedPull[], stage: Stage): number[] {
  return shipped.map((s) => {
    const created = Date.parse(s.pull.created_at);
    const merged = Date.parse(s.pull.merged_at!);
    if (stage === 'coding') return Math.max(0, created - s.firstCommit) / 1000;
    if (stage === 'review') return (merged - created) / 1000;
    if (stage === 'deploy') return (s.deployedAt - merged) / 1000;
    return (s.deployedAt - s.firstCommit) / 1000;
  });
}
