// Normalized events: what connectors write to the store and metric functions read.
// Times are epoch milliseconds; ids are the source's own, unique within a partition.

/** A GitHub deployment with the state of its most recent meaningful status. */
export interface DeploymentEvent {
  repo: string; // owner/name
  id: number;
  sha: string;
  environment: string;
  createdAt: number;
  /**
   * State of the most recent status by (created_at, id), ignoring `inactive` (GitHub sets it on
   * the previous deployment when a newer one succeeds; see README "Deviations"). null: no status.
   */
  state: string | null;
  /** created_at of that status: the deployment's `deployed_at` when state is `success`. */
  statusAt: number | null;
  statusId: number | null;
}

/** A successful deployment as the metric functions see it (METRICS.md "Deployments"). */
export interface Deployment {
  repo: string;
  /**
   * The GitHub environment it went to (absent for a deploy workflow's runs). A key result over
   * several environments of one repository (`environment: production-*`) keeps them apart:
   * "previous", "next" and rollbacks are taken within one repository and environment.
   */
  environment?: string;
  id: number;
  sha: string;
  deployedAt: number;
}

/** A PagerDuty incident of one service, with the times METRICS.md needs. */
export interface IncidentEvent {
  service: string; // PagerDuty service id
  id: string;
  createdAt: number;
  /** `resolved_at`, else the `created_at` of its resolve log entry; null while open. */
  resolvedAt: number | null;
  /** created_at of the first acknowledge log entry; null when never acknowledged. */
  acknowledgedAt: number | null;
  urgency: 'high' | 'low';
  status: string;
}

/** A GitHub Actions workflow run (one attempt: the latest one the API shows). */
export interface WorkflowRunEvent {
  repo: string;
  id: number;
  /** The workflow file name, e.g. `deploy.yml`. */
  workflow: string;
  branch: string;
  event: string;
  status: string;
  conclusion: string | null;
  headSha: string;
  createdAt: number;
  updatedAt: number;
  runStartedAt: number;
  runAttempt: number;
}

/** Line coverage read from a run's coverage artifact. */
export interface CoverageEvent {
  repo: string;
  /** The workflow run id. */
  id: number;
  workflow: string;
  branch: string;
  runCreatedAt: number;
  /** 0..1 */
  lineRate: number;
  format: 'istanbul-summary' | 'lcov' | 'cobertura';
}

/** The commits of `compare/{base}...{head}` between two consecutive deployments. */
export interface CompareEvent {
  repo: string;
  /** `${base}...${head}` */
  id: string;
  base: string;
  head: string;
  commits: { sha: string; committedAt: number }[];
}

/**
 * A commit of a repository's default-branch history (GET /repos/{owner}/{repo}/commits), with its
 * parents, from which the commits between two deployments are found (connectors/github/history.ts).
 * Partition: the repository. Commits of a history that was later rewritten stay stored. The
 * commits touching one path (stream `paths`, lead time with `paths:`) are kept apart, in partition
 * `owner/repo/path`.
 */
export interface CommitEvent {
  repo: string;
  /** The sha. */
  id: string;
  /** Parent shas, first parent first. */
  parents: string[];
  /** `commit.committer.date` (the author date when the committer is null). */
  committedAt: number;
}

/**
 * A pull request merged into its repository's default branch (connectors/github/pulls.ts).
 * Partition: the repository; id: the PR number. Unmerged PRs and PRs into other branches are not
 * stored. `firstCommitAt`: the earliest `commit.author.date` among the PR's own commits (null when
 * the PR lists none), so that squash and rebase merges keep the start of the work.
 */
export interface PullRequestEvent {
  repo: string;
  /** The PR number. */
  id: number;
  createdAt: number;
  mergedAt: number;
  /** The commit the merge put on the default branch (merge, squash, or last rebased commit). */
  mergeCommitSha: string;
  firstCommitAt: number | null;
  /** How many of the PR's commits the first commit was taken from (GitHub lists up to 250). */
  commits: number;
}

export interface EventKinds {
  deployment: DeploymentEvent;
  incident: IncidentEvent;
  workflow_run: WorkflowRunEvent;
  coverage: CoverageEvent;
  compare: CompareEvent;
  commit: CommitEvent;
  pull_request: PullRequestEvent;
}
export type EventKind = keyof EventKinds;

/**
 * The time an event is indexed by (the score of its partition's time index, see
 * Store.getEventsInRange): the time the metrics read it at, so that a window maps to a range.
 *   deployment    statusAt (a successful deployment's deployed_at), else createdAt
 *   workflow_run  createdAt (the CI metrics' window reads it)
 *   incident      createdAt
 *   coverage      runCreatedAt
 *   compare       the latest committedAt of its commits (0 when it lists none)
 *   commit        committedAt
 *   pull_request  mergedAt
 */
export function eventTime<K extends EventKind>(kind: K, e: EventKinds[K]): number {
  switch (kind) {
    case 'deployment': {
      const d = e as DeploymentEvent;
      return d.statusAt ?? d.createdAt;
    }
    case 'workflow_run':
      return (e as WorkflowRunEvent).createdAt;
    case 'incident':
      return (e as IncidentEvent).createdAt;
    case 'coverage':
      return (e as CoverageEvent).runCreatedAt;
    case 'compare': {
      let t = 0;
      for (const c of (e as CompareEvent).commits) if (c.committedAt > t) t = c.committedAt;
      return t;
    }
    case 'commit':
      return (e as CommitEvent).committedAt;
    case 'pull_request':
      return (e as PullRequestEvent).mergedAt;
  }
  return 0;
}
