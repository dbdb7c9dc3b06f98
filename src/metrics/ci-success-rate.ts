import type { WorkflowRunEvent } from '../core/events.js';
import { inWindow, type Window } from './window.js';

/** Conclusions that count for ci_success_rate; cancelled, skipped, neutral, action_required, ... do not. */
export const COUNTED_CONCLUSIONS: ReadonlySet<string> = new Set(['success', 'failure', 'timed_out']);

/**
 * One event per run (repo, id): the latest attempt (highest run_attempt, then updated_at). A run
 * is re-run under the same id, so a run that failed and passed on attempt 2 counts once, as a
 * success: what GitHub shows for it now.
 */
export function latestAttempts(runs: readonly WorkflowRunEvent[]): WorkflowRunEvent[] {
  const byRun = new Map<string, WorkflowRunEvent>();
  for (const r of runs) {
    const key = `${r.repo}\u0000${r.id}`;
    const prev = byRun.get(key);
    if (!prev || r.runAttempt > prev.runAttempt || (r.runAttempt === prev.runAttempt && r.updatedAt > prev.updatedAt)) byRun.set(key, r);
  }
  return [...byRun.values()];
}

/**
 * METRICS.md `ci_success_rate`: completed runs with created_at in (at - W, at] and conclusion
 * success, failure or timed_out; successes / that total. null (no data) when there is none.
 */
export function ciSuccessRate(runs: readonly WorkflowRunEvent[], w: Window): number | null {
  let total = 0;
  let ok = 0;
  for (const r of latestAttempts(runs)) {
    if (r.status !== 'completed' || r.conclusion === null || !COUNTED_CONCLUSIONS.has(r.conclusion) || !inWindow(r.createdAt, w)) continue;
    total++;
    if (r.conclusion === 'success') ok++;
  }
  return total === 0 ? null : ok / total;
}
