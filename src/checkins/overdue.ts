// When a check-in is overdue: the one rule that lint, the drift alerts, the digest and the report
// share. Pure: time is an argument.
import type { Objective } from '../config/types.js';

const DAY = 86_400_000;

export interface Overdue {
  /** Since when a check-in has been due, epoch ms. */
  dueSince: number;
  /** Whole days without a check-in (since the last one, or since the period started). */
  days: number;
  lastAt: number | null;
}

/**
 * Overdue when the objective's period is running and the last check-in (or, with none, the
 * period start) is more than `checkinEveryMs` before `at`. Outside the period nothing is due.
 */
export function checkinOverdue(objective: Objective, lastAt: number | null, at: number): Overdue | null {
  if (at < objective.period.start || at >= objective.period.end) return null;
  const from = Math.max(lastAt ?? objective.period.start, objective.period.start);
  const dueSince = from + objective.checkinEveryMs;
  if (at <= dueSince) return null;
  return { dueSince, days: Math.floor((at - from) / DAY), lastAt };
}

/** `no check-in for 12 days (one is due every 7d)`, for messages. */
export function overdueText(o: Overdue, everyMs: number): string {
  const every = everyMs % DAY === 0 ? `${everyMs / DAY}d` : `${Math.round(everyMs / 3_600_000)}h`;
  const since = o.lastAt === null ? 'since the period started' : 'since the last one';
  return `no check-in for ${o.days} day${o.days === 1 ? '' : 's'} ${since} (one is due every ${every})`;
}
