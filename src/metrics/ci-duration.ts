import type { Stat } from './quantile.js';
import type { WorkflowRunEvent } from '../core/events.js';
import { latestAttempts } from './ci-success-rate.js';
import { statistic } from './quantile.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `ci_duration`: the statistic, in seconds, of `updated_at - run_started_at` over the
 * successful runs in the window. "In the window" reads created_at, as ci_success_rate does. For a
 * re-run, run_started_at is the start of the latest attempt, so this is that attempt's duration.
 * null (no data) when no successful run lies in the window.
 */
export function ciDuration(runs: readonly WorkflowRunEvent[], w: Window, stat: Stat): number | null {
  const seconds: number[] = [];
  for (const r of latestAttempts(runs)) {
    if (r.status !== 'completed' || r.conclusion !== 'success' || !inWindow(r.createdAt, w)) continue;
    seconds.push((r.updatedAt - r.runStartedAt) / 1000);
  }
  return statistic(seconds, stat);
}
