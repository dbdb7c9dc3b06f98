// What `krt explain` should list, computed straight from the simulated GitHub and PagerDuty
// datasets from METRICS.md's definitions, without the product's code: the successful deployments
// of a window with their rollback, failed (and why) and rework flags, the changes with their lead
// time, and the incidents as PagerDuty shows them.
import type { GithubDataset, SimCommit } from '../../connectors/github/sim/dataset.js';
import type { PagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';
import { successesOf } from './expected.js';

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();

/** An incident with the times METRICS.md reads, from its log entries as PagerDuty shows them at `now`. */
export interface SimpleIncident {
  service: string;
  id: string;
  createdAt: number;
  resolvedAt: number | null;
  acknowledgedAt: number | null;
}

export function incidentsOf(dataset: PagerDutyDataset, services: string[], now: number): SimpleIncident[] {
  return dataset.incidents
    .filter((i) => services.includes(i.service_id) && Date.parse(i.created_at) <= now)
    .map((i) => {
      const first = (type: string) => i.log_entries.filter((e) => e.type === type && Date.parse(e.created_at) <= now).map((e) => Date.parse(e.created_at)).sort((a, b) => a - b)[0] ?? null;
      return { service: i.service_id, id: i.id, createdAt: Date.parse(i.created_at), resolvedAt: first('resolve_log_entry'), acknowledgedAt: first('acknowledge_log_entry') };
    });
}

export interface ExpectedDeployment {
  repository: string;
  id: string;
  sha: string;
  deployedAt: string;
  rollback: boolean;
  failed: boolean;
  rework: boolean;
  cause: { kind: 'rollback'; by: string } | { kind: 'incident'; incident: string; createdAt: string } | null;
}

/**
 * The successful deployments in (at - W, at] of each repository, with:
 * rollback: another sha than the previous deployment's, deployed before;
 * failed: the next deployment is a rollback (cause: that rollback), else an incident created in
 *   [deployed_at, min(next deployed_at, deployed_at + attribution)) (cause: the earliest);
 * rework: a rollback, or an incident created at or before deployed_at and not resolved by then.
 * `incidents` null: a key result without services.
 */
export function expectedDeployments(
  dataset: GithubDataset,
  repos: string[],
  environment: string,
  incidents: SimpleIncident[] | null,
  at: number,
  windowDays: number,
  attributionMs: number,
): ExpectedDeployment[] {
  const from = at - windowDays * DAY;
  const out: ExpectedDeployment[] = [];
  for (const repo of repos) {
    const list = successesOf(dataset, repo, environment);
    const isRollback = (i: number) => i > 0 && list[i]!.sha !== list[i - 1]!.sha && list.slice(0, i).some((e) => e.sha === list[i]!.sha);
    list.forEach((d, i) => {
      if (d.deployedAt <= from || d.deployedAt > at) return;
      const next = list[i + 1];
      let cause: ExpectedDeployment['cause'] = null;
      if (next && isRollback(i + 1)) cause = { kind: 'rollback', by: String(next.id) };
      else if (incidents) {
        const until = Math.min(next ? next.deployedAt : Infinity, d.deployedAt + attributionMs);
        const hits = incidents.filter((x) => x.createdAt >= d.deployedAt && x.createdAt < until).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
        if (hits[0]) cause = { kind: 'incident', incident: hits[0].id, createdAt: iso(hits[0].createdAt) };
      }
      const open = (incidents ?? []).some((x) => x.createdAt <= d.deployedAt && (x.resolvedAt === null || x.resolvedAt > d.deployedAt));
      out.push({ repository: repo, id: String(d.id), sha: d.sha, deployedAt: iso(d.deployedAt), rollback: isRollback(i), failed: cause !== null, rework: isRollback(i) || open, cause });
    });
  }
  return out;
}

export interface ExpectedChange {
  repository: string;
  sha: string;
  deployment: string;
  seconds: number;
}

/**
 * The changes of each deployment in the window: the commits reachable from its sha and not from
 * the previous deployment's, that no earlier deployment shipped and that are not an earlier
 * deployment's sha; lead time = deployed_at - committer date.
 */
export function expectedChanges(dataset: GithubDataset, repos: string[], environment: string, at: number, windowDays: number): ExpectedChange[] {
  const from = at - windowDays * DAY;
  const out: ExpectedChange[] = [];
  for (const repo of repos) {
    const r = dataset.repos.find((x) => x.fullName === repo)!;
    const commits = new Map<string, SimCommit>([...r.branchCommits, ...r.commits].map((c) => [c.sha, c]));
    const reach = (sha: string) => {
      const seen = new Set<string>();
      for (const todo = [sha]; todo.length; ) {
        const x = todo.pop()!;
        if (seen.has(x)) continue;
        seen.add(x);
        todo.push(...(commits.get(x)?.parents ?? []));
      }
      return seen;
    };
    const shipped = new Set<string>();
    let prev: { sha: string } | null = null;
    for (const d of successesOf(dataset, repo, environment)) {
      if (prev && prev.sha !== d.sha) {
        const before = reach(prev.sha);
        for (const sha of reach(d.sha)) {
          if (before.has(sha) || shipped.has(sha)) continue;
          shipped.add(sha);
          if (d.deployedAt > from && d.deployedAt <= at) out.push({ repository: repo, sha, deployment: String(d.id), seconds: (d.deployedAt - Date.parse(commits.get(sha)!.date)) / 1000 });
        }
      }
      shipped.add(d.sha);
      prev = d;
    }
  }
  return out;
}
