// The weekly check-in digest: when it is due (a weekday and a wall-clock time in a time zone, DST
// included) and what it says (one message per objective: every key result's progress, the change
// since last week, and what is at risk). Pure; the worker feeds it results and history.
import { formatValue } from '../config/lint-wording.js';
import { number } from '../lib/format.js';
import { offsetAt } from '../config/timezone.js';
import type { KeyResult, Objective } from '../config/types.js';
import { objectiveProgress, type RolledUpProgress } from '../engine/objective-progress.js';
import { progressOf } from '../engine/progress.js';
import { STATUS_WORDS, type EvaluationResult } from '../core/result.js';
import { formatInstant, percent, type MessageContext } from './message.js';
import { WEEKDAYS, type Message, type MessageField, type Weekday } from './types.js';
import type { Checkin } from '../checkins/checkin.js';
import { checkinOverdue, overdueText } from '../checkins/overdue.js';

export const WEEK = 7 * 86_400_000;
const DAY = 86_400_000;

export interface DigestTime {
  day: Weekday;
  /** `HH:MM`, 24 h. */
  time: string;
  timezone: string;
}

/** The BullMQ job scheduler's repeat options: a cron pattern read in `tz` (cron-parser). */
export function digestCron({ day, time, timezone }: DigestTime): { pattern: string; tz: string } {
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  return { pattern: `${mm} ${hh} * * ${WEEKDAYS.indexOf(day)}`, tz: timezone };
}

/** The instant of wall-clock `hh:mm` on UTC-calendar day `dayMs` in `timeZone`. */
function localInstant(dayMs: number, hh: number, mm: number, timeZone: string): number {
  const wall = dayMs + hh * 3_600_000 + mm * 60_000;
  // Two passes settle the offset on days when it changes (the offset at the guess, then at the answer).
  const guess = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(guess, timeZone);
}

/** Digest instants around `t`, oldest first: the candidate days from a week before to a week after. */
function candidates(t: number, { day, time, timezone }: DigestTime): number[] {
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  const local = t + offsetAt(t, timezone);
  const today = local - (((local % DAY) + DAY) % DAY);
  const want = WEEKDAYS.indexOf(day);
  const out: number[] = [];
  for (let k = -8; k <= 8; k++) {
    const d = today + k * DAY;
    if (new Date(d).getUTCDay() === want) out.push(localInstant(d, hh, mm, timezone));
  }
  return out;
}

/** The first digest instant strictly after `t`. */
export function nextDigestAt(t: number, when: DigestTime): number {
  return candidates(t, when).find((c) => c > t)!;
}

/** The latest digest instant at or before `t`: the one a digest run at `t` belongs to. */
export function lastDigestAt(t: number, when: DigestTime): number {
  return candidates(t, when).filter((c) => c <= t).pop()!;
}

export interface DigestInput {
  objective: Objective;
  /** Latest result per key result id. */
  results: Map<string, EvaluationResult>;
  /** The value recorded about a week before `at`, per key result id (null: none). */
  weekAgo: Map<string, number | null>;
  /** The digest instant (from `lastDigestAt`). */
  at: number;
  /** The objective's latest check-in (null: none yet; undefined: not known here). */
  checkin?: Checkin | null;
  /** The objective's progress rolled up with its child objectives (parent links; docs/aligned-objectives.md). */
  rollup?: Pick<RolledUpProgress, 'rollup' | 'children' | 'childrenWithData'>;
}

function forecastMisses(r: EvaluationResult): boolean {
  if (r.forecast === null || r.target === null || r.kind === null || r.status === 'achieved' || r.status === 'no_data') return false;
  return r.kind === 'increase' || r.kind === 'maintain_above' ? r.forecast < r.target : r.forecast > r.target;
}

function change(kr: KeyResult, r: EvaluationResult, before: number | null): string {
  if (before === null) return 'no value a week ago';
  if (r.value === null) return `was ${formatValue(kr, before)} a week ago`;
  let progressThen: number | null = null;
  if (r.kind !== null && r.target !== null) progressThen = progressOf(r.kind, before, r.baseline, r.target);
  const points = r.progress !== null && progressThen !== null ? Math.round((r.progress - progressThen) * 1000) / 10 : null;
  const pts = points === null ? '' : `${points > 0 ? '+' : ''}${number(points)} pts, `;
  return `${pts}${formatValue(kr, before)} → ${formatValue(kr, r.value)} since last week`;
}

/** One objective's weekly check-in. */
export function buildDigestMessage({ objective, results, weekAgo, at, checkin, rollup }: DigestInput, ctx: MessageContext): Message {
  const rows: MessageField[] = [];
  const attention: MessageField[] = [];
  const counts = new Map<string, number>();
  const details: Record<string, unknown>[] = [];
  for (const kr of objective.keyResults) {
    const r = results.get(kr.id);
    if (!r) {
      rows.push({ label: kr.title, value: 'not evaluated yet' });
      counts.set('not evaluated', (counts.get('not evaluated') ?? 0) + 1);
      continue;
    }
    const status = STATUS_WORDS[r.status];
    const explain = ctx.explainUrl?.(objective.id, kr.id);
    counts.set(status, (counts.get(status) ?? 0) + 1);
    const progress = r.progress === null ? 'progress unknown' : `${percent(r.progress)} (expected ${percent(r.expected)})`;
    const before = weekAgo.get(kr.id) ?? null;
    rows.push({ label: kr.title, value: `${status}: ${progress}; ${change(kr, r, before)}` });
    const misses = forecastMisses(r);
    if (r.status === 'at_risk' || r.status === 'off_track' || r.status === 'no_data' || misses) {
      const why: string[] = [status];
      if (r.value !== null && r.target !== null) why.push(`${formatValue(kr, r.value)} against a target of ${formatValue(kr, r.target)}`);
      if (misses) why.push(`forecast ${formatValue(kr, r.forecast!)} misses the target`);
      if (r.status === 'no_data' && r.error) why.push(ctx.redact ? ctx.redact(r.error) : r.error);
      // The inputs behind the value (`krt explain`), for a key result that has one.
      if (explain && r.value !== null) why.push(`inputs: ${explain}`);
      attention.push({ label: kr.title, value: why.join('; ') });
    }
    details.push({
      id: kr.id,
      title: kr.title,
      status: r.status,
      value: r.value,
      target: r.target,
      progress: r.progress,
      expected: r.expected,
      forecast: r.forecast,
      valueWeekAgo: before,
      ...(explain ? { explainUrl: explain } : {}),
    });
  }
  // A parent objective reports its progress rolled up with its children, as /metrics and the API do.
  const rolled = rollup && rollup.children.length > 0 ? rollup : null;
  const overall = rolled ? rolled.rollup : objectiveProgress(objective, (id) => results.get(id)?.progress);
  const overallWords = `${rolled ? 'Objective progress, with its child objectives' : 'Objective progress'} ${overall === null ? 'unknown' : percent(overall)}${rolled ? ` (${rolled.childrenWithData} of ${rolled.children.length} child objectives with data)` : ''}.`;
  const tally = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const url = ctx.dashboardUrl?.(objective.id);
  const key = `digest/${objective.id}/${at}`;
  return {
    type: 'digest',
    idempotencyKey: key,
    alertKey: key,
    action: 'notify',
    severity: 'info',
    title: `Weekly check-in: ${objective.title}`,
    summary: `Week of ${formatInstant(at, ctx.timezone).slice(0, 10)}. ${objective.keyResults.length} key result${objective.keyResults.length === 1 ? '' : 's'}: ${tally}. ${overallWords}`,
    sections: [
      { title: attention.length ? 'At risk' : 'At risk: nothing', fields: attention },
      { title: 'Key results', fields: rows },
      ...(checkin === undefined ? [] : [{ title: 'Check-in', fields: checkinFields(objective, checkin ?? null, at, ctx) }]),
    ],
    link: url ? { url, text: 'Open the dashboard' } : null,
    at,
    details: {
      objective: { id: objective.id, title: objective.title, owner: objective.owner, progress: overall },
      keyResults: details,
      ...(checkin === undefined ? {} : { checkin: checkin && { confidence: checkin.confidence, note: checkin.note, by: checkin.by, at: new Date(checkin.at).toISOString() } }),
    },
  };
}

/** The latest check-in in words, and a reminder when one is overdue. */
function checkinFields(objective: Objective, c: Checkin | null, at: number, ctx: MessageContext): MessageField[] {
  const fields: MessageField[] = [];
  if (c) fields.push({ label: 'Latest', value: `confidence ${c.confidence} by ${c.by} on ${formatInstant(c.at, ctx.timezone).slice(0, 10)}${c.note ? `: ${c.note}` : ''}` });
  const overdue = checkinOverdue(objective, c?.at ?? null, at);
  if (overdue) fields.push({ label: 'Due', value: `${overdueText(overdue, objective.checkinEveryMs)}; record one with krt checkin ${objective.id} --confidence 0..1 --note "..."` });
  if (!fields.length) fields.push({ label: 'Latest', value: 'none yet' });
  return fields;
}
