// Normalized events: what connectors write to the store and metric functions read.
// Times are epoch milliseconds; ids are the source's own.

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
  id: number;
  sha: string;
  deployedAt: number;
}
