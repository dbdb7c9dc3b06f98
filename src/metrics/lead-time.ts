import type { Stat } from './quantile.js';
import type { CompareEvent, Deployment } from '../core/events.js';
import { statistic } from './quantile.js';
import { deploymentsByRepo } from './rollbacks.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `lead_time_for_changes`, in seconds. For each successful deployment D in the window
 * with a previous deployment P in its repository and environment (rollbacks.ts `sequenceOf`), D's changes are the commits of
 * `compare/{P.sha}...{D.sha}` that were not part of an earlier deployment: a commit counts once,
 * at the first deployment whose compare lists it (a deployment after a rollback lists again the
 * commits that the rollback took out; they were deployed before). A commit that is itself the sha
 * of an earlier deployment was deployed too. A redeploy of the same sha has no changes; a
 * rollback's compare is `behind` and lists none. Each change's lead time is
 * `D.deployed_at - committer date`; the statistic over all changes pooled; null when none.
 *
 * A pair whose compare is not stored (not synced yet) contributes nothing.
 */
export function leadTimeForChanges(
  deployments: readonly Deployment[],
  compares: readonly CompareEvent[],
  w: Window,
  stat: Stat,
): number | null {
  return leadTimeOfChanges(deploymentChanges(deployments, compares), w, stat);
}

/** What each successful deployment shipped: its deployed_at and the committer dates of its changes. */
export interface DeploymentChanges {
  repo: string;
  /** The deployment's id. */
  id: number;
  deployedAt: number;
  committedAt: number[];
  /** The shas of the changes, in the order of `committedAt` (pr_cycle_time joins PRs on them; `krt explain` lists them). */
  shas: string[];
}

/**
 * The changes of every deployment (the walk of leadTimeForChanges, done once for any number of
 * windows: what a deployment shipped depends only on the deployments before it), in the order
 * leadTimeForChanges pools them.
 */
export function deploymentChanges(deployments: readonly Deployment[], compares: readonly CompareEvent[]): DeploymentChanges[] {
  const byId = new Map<string, CompareEvent>();
  for (const c of compares) byId.set(`${c.repo}\n${c.id}`, c);
  const out: DeploymentChanges[] = [];
  for (const list of deploymentsByRepo(deployments).values()) {
    const repo = list[0]!.repo;
    const deployed = new Set<string>();
    let prev: Deployment | null = null;
    for (const d of list) {
      const compare = prev === null || prev.sha === d.sha ? undefined : byId.get(`${repo}\n${prev.sha}...${d.sha}`);
      const committedAt: number[] = [];
      const shas: string[] = [];
      for (const c of compare?.commits ?? []) {
        if (deployed.has(c.sha)) continue;
        deployed.add(c.sha);
        committedAt.push(c.committedAt);
        shas.push(c.sha);
      }
      deployed.add(d.sha);
      out.push({ repo, id: d.id, deployedAt: d.deployedAt, committedAt, shas });
      prev = d;
    }
  }
  return out;
}

/**
 * Only the changes whose commit touches one of a key result's `paths:` (lead time in a monorepo):
 * `touching` holds `repo\nsha` of every commit GitHub's `path` filter lists for them. A commit
 * still counts at the first deployment that shipped it (deploymentChanges walks every commit), so
 * filtering after the walk gives the same as walking the touching commits alone.
 */
export function touchingChanges(changes: readonly DeploymentChanges[], touching: ReadonlySet<string>): DeploymentChanges[] {
  return changes.map((d) => {
    const keep = d.shas.map((sha) => touching.has(`${d.repo}\n${sha}`));
    return { ...d, committedAt: d.committedAt.filter((_, i) => keep[i]), shas: d.shas.filter((_, i) => keep[i]) };
  });
}

/** leadTimeForChanges over the changes deploymentChanges found. */
export function leadTimeOfChanges(changes: readonly DeploymentChanges[], w: Window, stat: Stat): number | null {
  const values: number[] = [];
  for (const d of changes) {
    if (!inWindow(d.deployedAt, w)) continue;
    for (const t of d.committedAt) values.push((d.deployedAt - t) / 1000);
  }
  return statistic(values, stat);
}
