// What a key-result title says (an activity, a change up or down, a threshold held) and the
// outcome wording lint.ts suggests instead, written from the KR's own metric, baseline and target.
// Plain English heuristics: they look at the leading verb and a few phrases, nothing more.
import type { KeyResult, MetricName } from './types.js';

export type Direction = 'increase' | 'decrease';

/** Which way is better for each built-in metric (../shared/METRICS.md); promql: unknown. */
export const BETTER: Record<MetricName, Direction | null> = {
  deployment_frequency: 'increase',
  lead_time_for_changes: 'decrease',
  change_failure_rate: 'decrease',
  rollback_rate: 'decrease',
  time_to_restore: 'decrease',
  time_to_acknowledge: 'decrease',
  incident_count: 'decrease',
  ci_success_rate: 'increase',
  ci_duration: 'decrease',
  test_coverage: 'increase',
  promql: null,
  deployment_rework_rate: 'decrease',
  pr_cycle_time: 'decrease',
};

// Verbs that name something to do rather than something to change: "Deploy the new pipeline".
const ACTIVITY =
  /^(?:deploy|complete|launch|ship|build|implement|migrate|create|write|release|set\s*up|introduce|finish|deliver|roll\s*out|add|adopt|automate|design|develop|document|integrate|install|upgrade|replace|switch)\b/i;

// A title that names a measured change or level: a number or percentage ("from 3 to 5 per day",
// "by 50%", "under 1%", "one hour"), a frequency ("daily", "twice a week") or a multiple ("halve").
// "from Jenkins to GitHub Actions" or "under the new policy" names no measure, so words such as
// from/to/under only count with a number, which the first two patterns find.
const MEASURED = [
  /\d/,
  /\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|zero(?!-))\b/i,
  /\b(?:hourly|daily|nightly|weekly|fortnightly|monthly|quarterly)\b/i,
  /\b(?:a|an|per|each|every)\s+(?:minute|hour|day|week|month|quarter|sprint|release)\b/i,
  /\b(?:halve|half|double|twice|triple)\b/i,
];

const DECREASE = /^(?:reduce|decrease|lower|cut|halve|shorten|shrink|minimi[sz]e|drop|slash|trim)\b/i;
const INCREASE = /^(?:increase|raise|grow|double|triple|boost|maximi[sz]e|lift|expand)\b/i;
const IMPROVE = /^improve\b/i;
const KEEP = /^(?:keep|maintain|hold|stay|sustain|remain)\b/i;

// "no more than" must win over "more than", so the longer phrases come first.
const THRESHOLD =
  /\b(no more than|no fewer than|no less than|at most|at least|under|below|less than|fewer than|within|above|more than)\b/i;
const BELOW_WORDS = new Set(['no more than', 'at most', 'under', 'below', 'less than', 'fewer than', 'within']);

/** The activity verb a title starts with (`Set up`), or null. */
export function activityVerb(title: string): string | null {
  return ACTIVITY.exec(title.trim())?.[0] ?? null;
}

/** True when the title names a measured change or level. */
export function namesMeasure(title: string): boolean {
  return MEASURED.some((pattern) => pattern.test(title));
}

/** The change a title's leading verb asks for: `better` for "Improve" (up or down by metric). */
export function titleChange(title: string): { verb: string; change: Direction | 'better' } | null {
  const text = title.trim();
  for (const [pattern, change] of [
    [DECREASE, 'decrease'],
    [INCREASE, 'increase'],
    [IMPROVE, 'better'],
  ] as const) {
    const verb = pattern.exec(text)?.[0];
    if (verb) return { verb, change };
  }
  return null;
}

/** The verb of a title that asks to hold a level ("Keep ... under 1%"), or null. */
export function keepVerb(title: string): string | null {
  return KEEP.exec(title.trim())?.[0] ?? null;
}

/** The threshold a title names: "under 1%" is below, "at least 95%" above. */
export function titleThreshold(title: string): { words: string; side: Direction } | null {
  const words = THRESHOLD.exec(title)?.[1];
  if (!words) return null;
  return { words, side: BELOW_WORDS.has(words.toLowerCase()) ? 'decrease' : 'increase' };
}

/** The target as an absolute value, when it is one or the baseline is known. */
export function resolvedTarget(kr: KeyResult): number | null {
  if (kr.target.type === 'absolute') return kr.target.value;
  return kr.baseline === null ? null : kr.baseline * (1 + kr.target.ratio);
}

/** The target as written: `0.85`, `-30%`. */
export function writtenTarget(kr: KeyResult): string {
  return kr.target.type === 'absolute' ? String(kr.target.value) : percentChange(kr.target.ratio);
}

/** A relative change as written in the file: -0.3 -> `-30%`. */
export function percentChange(ratio: number): string {
  return `${ratio > 0 ? '+' : ratio < 0 ? '-' : ''}${number(Math.abs(ratio) * 100)}%`;
}

/** Which way the KR asks the value to go, and what in the file says so; null when unknown. */
export function directionOf(kr: KeyResult): { side: Direction; by: 'kind' | 'relative' | 'baseline' } | null {
  if (kr.kind === 'maintain_above') return { side: 'increase', by: 'kind' };
  if (kr.kind === 'maintain_below') return { side: 'decrease', by: 'kind' };
  if (kr.target.type === 'relative' && kr.target.ratio !== 0) {
    return { side: kr.target.ratio > 0 ? 'increase' : 'decrease', by: 'relative' };
  }
  if (kr.target.type === 'absolute' && kr.baseline !== null && kr.target.value !== kr.baseline) {
    return { side: kr.target.value > kr.baseline ? 'increase' : 'decrease', by: 'baseline' };
  }
  if (kr.kind === 'increase' || kr.kind === 'decrease') return { side: kr.kind, by: 'kind' };
  return null;
}

export const isMaintain = (kr: KeyResult): boolean => kr.kind === 'maintain_above' || kr.kind === 'maintain_below';

/** A number without float noise: 0.6 * 100 -> `60`. */
export function number(value: number): string {
  return String(+value.toFixed(4));
}

const STAT_WORD: Record<KeyResult['stat'], string> = { p50: 'median', p75: 'p75', p90: 'p90', p95: 'p95', p99: 'p99', mean: 'mean' };

/** What the metric measures, in words: `median time to restore service`. */
export function metricSubject(kr: KeyResult): string {
  const stat = STAT_WORD[kr.stat];
  const workflow = kr.workflow ?? 'the workflow';
  switch (kr.metric) {
    case 'deployment_frequency':
      return kr.deployments.source === 'deployments'
        ? `deployments to ${kr.deployments.environment}`
        : `deployments by ${kr.deployments.workflow}`;
    case 'lead_time_for_changes':
      return `${stat} lead time for changes`;
    case 'change_failure_rate':
      return 'the change failure rate';
    case 'rollback_rate':
      return 'the rollback rate';
    case 'time_to_restore':
      return `${stat} time to restore service`;
    case 'time_to_acknowledge':
      return `${stat} time to acknowledge incidents`;
    case 'incident_count':
      return kr.urgency === 'high' ? 'high-urgency incidents' : 'incidents';
    case 'ci_success_rate':
      return `the success rate of ${workflow}`;
    case 'ci_duration':
      return `the ${stat} duration of ${workflow}`;
    case 'test_coverage':
      return 'line coverage';
    case 'promql':
      return '<what the query measures>';
    case 'deployment_rework_rate':
      return 'the deployment rework rate';
    case 'pr_cycle_time':
      return (kr.stage ?? 'total') === 'total' ? `${stat} pull-request cycle time` : `${stat} pull-request ${kr.stage} time`;
  }
}

// Where the measured part of a title starts: "by 30%", "from 60% to 85%", "to 2 per day",
// "under 1%". A bare "to" is not enough: "time to restore" is part of the subject.
const TAIL =
  /\s+(?:by\s+\d|from\s+\S+\s+to\b|to\s+(?:\d|daily|weekly|hourly|monthly|zero|an?\s|one\b|half\b)|under\b|below\b|above\b|within\b|at least\b|at most\b|less than\b|fewer than\b|more than\b)/i;

/**
 * The user's own words for what is measured, from a title that starts with a change or keep
 * verb ("Reduce P99 latency of payments by 30%" -> "P99 latency of payments"); else the metric's.
 */
export function subjectOf(kr: KeyResult): string {
  const title = kr.title.trim();
  const verb = titleChange(title)?.verb ?? keepVerb(title);
  if (verb) {
    const rest = title.slice(verb.length);
    const tail = TAIL.exec(rest);
    const subject = (tail ? rest.slice(0, tail.index) : rest).trim();
    if (subject && !/^\d/.test(subject)) return subject;
  }
  return metricSubject(kr);
}

const DURATION_UNITS: Array<[number, string]> = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** Seconds in words: 1200 -> `20 minutes`, 5400 -> `1.5 hours`, 0.35 -> `350 ms`. */
export function humanSeconds(seconds: number): string {
  if (seconds > 0 && seconds < 1) return `${number(seconds * 1000)} ms`;
  const plural = (n: number, unit: string): string => `${number(n)} ${unit}${n === 1 ? '' : 's'}`;
  // The largest unit that gives a whole or half number; else the largest that fits, rounded.
  for (const [size, unit] of DURATION_UNITS) {
    if (seconds >= size && Number.isInteger((seconds / size) * 2)) return plural(seconds / size, unit);
  }
  const [size, unit] = DURATION_UNITS.find(([s]) => seconds >= s) ?? [1, 'second'];
  return plural(+(seconds / size).toFixed(1), unit);
}

/** A window in days or hours as users write it: `28d`, `12h`. */
export function writtenDuration(ms: number): string {
  for (const [size, unit] of [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/** A value in the KR's unit, in words: `85%`, `20 minutes`, `2 per day`, `6 per 28d`. */
export function formatValue(kr: KeyResult, value: number): string {
  switch (kr.unit) {
    case 'ratio':
      return `${number(value * 100)}%`;
    case 'seconds':
      return humanSeconds(value);
    case 'per_day':
      return `${number(value)} per day`;
    case 'count':
      return `${number(value)} per ${writtenDuration(kr.windowMs)}`;
    default:
      return kr.unit ? `${number(value)} ${kr.unit}` : number(value);
  }
}

/** `from 20 to 10 minutes`: a unit the two values share is said once. */
function fromTo(kr: KeyResult, from: number, to: number): string {
  const start = formatValue(kr, from);
  const end = formatValue(kr, to);
  const split = /^(\S+) (.+)$/.exec(start);
  return `from ${split && end.endsWith(` ${split[2]}`) ? split[1] : start} to ${end}`;
}

/**
 * An outcome title for the KR from its own numbers: "Reduce the change failure rate from 15% to
 * 5%", "Increase deployments to production to 1 per day", "Keep the rollback rate under 1%".
 */
export function outcomeTitle(kr: KeyResult, subject = subjectOf(kr)): string {
  const target = resolvedTarget(kr);
  if (kr.kind === 'maintain_below' && target !== null) {
    return `Keep ${subject} ${target === 0 ? 'at' : 'under'} ${formatValue(kr, target)}`;
  }
  if (kr.kind === 'maintain_above' && target !== null) return `Keep ${subject} above ${formatValue(kr, target)}`;
  const side = directionOf(kr)?.side ?? BETTER[kr.metric];
  const verb = side === 'increase' ? 'Increase' : side === 'decrease' ? 'Reduce' : 'Bring';
  if (kr.baseline !== null && target !== null) return `${verb} ${subject} ${fromTo(kr, kr.baseline, target)}`;
  if (kr.target.type === 'relative') return `${verb} ${subject} by ${number(Math.abs(kr.target.ratio) * 100)}%`;
  return `${verb} ${subject} to ${formatValue(kr, kr.target.value)}`;
}
