import type { PullRequestEvent } from '../core/events.js';
import type { DeploymentChanges } from './lead-time.js';
import { statistic, type Stat } from './quantile.js';
import { inWindow, type Window } from './window.js';

/** Where the time from first commit to production goes (METRICS.md `pr_cycle_time`). */
export const PR_STAGES = ['coding', 'review', 'deploy', 'total'] as const;
export type PrStage = (typeof PR_STAGES)[number];

/** One PR that entered a pr_cycle_time value: its repository, number and the stage's seconds. */
export interface PullStage {
  repo: string;
  number: number;
  seconds: number;
}

/**
 * METRICS.md `pr_cycle_time`, in seconds: over pull requests merged into the default branch whose
 * merge commit is among the changes of a successful deployment D in the window (the changes of
 * lead_time_for_changes, `deploymentChanges`: a commit counts at the first deployment that ships
 * it), the statistic of one stage:
 *   coding = created_at - first commit (a negative value counts as 0), review = merged_at -
 *   created_at, deploy = D.deployed_at - merged_at, total = D.deployed_at - first commit,
 * where the first commit is the earliest author date among the PR's own commits (stored by the
 * pulls stream), so that squash and rebase merges keep the start of the work. A PR whose commits
 * could not be listed (firstCommitAt null) counts for review and deploy only. null when none.
 */
export function prCycleTime(changes: readonly DeploymentChanges[], pulls: readonly PullRequestEvent[], w: Window, stage: PrStage, stat: Stat): number | null {
  return statistic(
    prStages(changes, pulls, w, stage).map((p) => p.seconds),
    stat,
  );
}

/** The PRs behind a pr_cycle_time value and their seconds in `stage` (what `explain` would list). */
export function prStages(changes: readonly DeploymentChanges[], pulls: readonly PullRequestEvent[], w: Window, stage: PrStage): PullStage[] {
  const byMerge = pullsByMergeCommit(pulls);
  const out: PullStage[] = [];
  for (const d of changes) {
    if (!inWindow(d.deployedAt, w)) continue;
    for (const sha of d.shas) {
      const pr = byMerge.get(`${d.repo}\n${sha}`);
      if (!pr) continue;
      const seconds = stageSeconds(pr, d.deployedAt, stage);
      if (seconds !== null) out.push({ repo: pr.repo, number: pr.id, seconds });
    }
  }
  return out;
}

/** PRs keyed by `repo\nmerge commit sha`. */
export function pullsByMergeCommit(pulls: readonly PullRequestEvent[]): Map<string, PullRequestEvent> {
  const out = new Map<string, PullRequestEvent>();
  for (const p of pulls) out.set(`${p.repo}\n${p.mergeCommitSha}`, p);
  return out;
}

function stageSeconds(pr: PullRequestEvent, deployedAt: number, stage: PrStage): number | null {
  switch (stage) {
    case 'coding':
      return pr.firstCommitAt === null ? null : Math.max(0, pr.createdAt - pr.firstCommitAt) / 1000;
    case 'review':
      return (pr.mergedAt - pr.createdAt) / 1000;
    case 'deploy':
      return (deployedAt - pr.mergedAt) / 1000;
    case 'total':
      return pr.firstCommitAt === null ? null : (deployedAt - pr.firstCommitAt) / 1000;
  }
}
