// What a key-result title says (an activity, a change up or down, a threshold held) and the
// outcome wording lint.ts suggests instead, written from the KR's own metric, baseline and target.
// Plain English heuristics: they look at the leading verb and a few phrases, nothing more.
import { number } from '../lib/format.js';
import { metricOf, unitOf, type Direction } from '../metrics/catalogue/index.js';
import { STAT_WORD } from '../metrics/catalogue/shared.js';
import type { KeyResult } from './types.js';

export type { Direction };

/** Which way is better for the KR's metric (the catalogue's `better`); null for promql. */
export const betterOf = (kr: Pick<KeyResult, 'metric'>): Direction | null => metricOf(kr.metric).better;

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

/** What the metric measures, in words: `median time to restore service`. */
export function metricSubject(kr: KeyResult): string {
  return metricOf(kr.metric).wording.subject(kr, STAT_WORD[kr.stat]);
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

/** A value in the KR's unit, in words: `85%`, `20 minutes`, `2 per day`, `6 per 28d`. */
export function formatValue(kr: KeyResult, value: number): string {
  const unit = unitOf(kr.unit);
  if (unit) return unit.text(value, kr.windowMs);
  return kr.unit ? `${number(value)} ${kr.unit}` : number(value);
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
  const side = directionOf(kr)?.side ?? betterOf(kr);
  const verb = side === 'increase' ? 'Increase' : side === 'decrease' ? 'Reduce' : 'Bring';
  if (kr.baseline !== null && target !== null) return `${verb} ${subject} ${fromTo(kr, kr.baseline, target)}`;
  if (kr.target.type === 'relative') return `${verb} ${subject} by ${number(Math.abs(kr.target.ratio) * 100)}%`;
  return `${verb} ${subject} to ${formatValue(kr, kr.target.value)}`;
}
