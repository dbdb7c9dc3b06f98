// Where a compare stream's pairs start: the earliest instant a lead-time key result reading it
// evaluates. It reads the config, so it lives here and reaches the GitHub connector as a function
// (connectors import nothing of src/ but src/core).
import type { Config } from '../config/types.js';
import { startOfDay } from '../config/timezone.js';

/**
 * The earliest instant a lead-time key result reading `repo@environment` (an environment or a
 * pattern, as the key result writes it) or the commits touching `repo/path` (its `paths:`) evaluates: its window
 * before the period start (where the baseline is measured) or before `at` (default now), and
 * before the first day of a backfill. null when none reads it.
 */
export function compareFrom(config: Config, key: string, now: number, at?: number, days?: { from: string; to: string }): number | null {
  let from: number | null = null;
  const evalAt = at ?? now;
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const d = kr.deployments;
      if (kr.metric !== 'lead_time_for_changes' || d.source !== 'deployments') continue;
      const envs = d.environments?.length ? d.environments : [d.environment];
      const paths = kr.paths ?? [];
      if (!kr.repos.some((r) => envs.some((e) => `${r}@${e}` === key) || paths.some((p) => `${r}/${p}` === key))) continue;
      let t = (kr.baseline === null ? Math.min(o.period.start, evalAt) : evalAt) - kr.windowMs;
      if (days) t = Math.min(t, startOfDay(days.from, config.timezone) - kr.windowMs);
      from = from === null ? t : Math.min(from, t);
    }
  }
  return from;
}
