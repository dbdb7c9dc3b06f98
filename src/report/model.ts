// The period's close-out (`krt report`): every objective with its score, each KR's values in the
// period, the check-ins and revisions. The final numbers are the engine's at the period end, read
// from the events in the store, through the same view as `krt run --once --json`, so the two agree.
import type { Config } from '../config/types.js';
import { formatValue } from '../config/lint-wording.js';
import { nextDay, offsetAt, startOfDay } from '../config/timezone.js';
import { evaluateOrReport, planRound } from '../engine/evaluate.js';
import type { LiveSources } from '../engine/measure.js';
import { objectiveProgressOf } from '../engine/objective-progress.js';
import { RoundReader } from '../engine/round.js';
import { objectivesView, type KeyResultView } from '../exporters/objectives-view.js';
import type { Store } from '../core/store.js';
import type { Checkin } from '../checkins/checkin.js';
import type { CheckinStore } from '../checkins/checkin-store.js';
import { definitionOf, describeChange, revisedScore, type RevisedScore, type Revision } from '../checkins/revisions.js';

/** OKR practice: 0.7 is a success for an aspirational KR (METRICS.md, score). */
export const SUCCESS_SCORE = 0.7;

export interface ReportPeriod {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Last day, YYYY-MM-DD (included). */
  to: string;
}

export interface ReportKeyResult extends KeyResultView {
  kind: string | null;
  /** Values recorded in the period (backfill and evaluations), oldest first. */
  points: { at: number; value: number }[];
  revisions: (Revision & { change: string })[];
  /** Against the original and the revised target, when the KR was revised. */
  revisedScore: RevisedScore | null;
  /** Carried over to the next period: below SUCCESS_SCORE (or its progress so, before the end) and not achieved. */
  carriedOver: boolean;
  /** Formatted for people: `1.2 per day`. */
  shown: { value: string; target: string; baseline: string };
}

export interface ReportObjective {
  id: string;
  title: string;
  owner: string;
  period: { start: number; end: number };
  /** Weighted mean of the KR scores that exist (0.0-1.0, one decimal); null before the end. */
  score: number | null;
  progress: number | null;
  /** The period has ended at the report's instant: scores are final. */
  final: boolean;
  checkins: Checkin[];
  keyResults: ReportKeyResult[];
}

export interface ReportModel {
  title: string;
  period: ReportPeriod;
  /** The period as instants: start of the first day, end of the last (exclusive). */
  range: { start: number; end: number };
  /** The instant evaluated: the end of the period's last day, or now when that is later. */
  at: number;
  generatedAt: number;
  timezone: string;
  objectives: ReportObjective[];
  carriedOver: { objective: string; keyResult: string; title: string; score: number | null; progress: number | null; status: string }[];
}

export interface BuildReportOptions {
  config: Config;
  store: Store;
  checkins: Pick<CheckinStore, 'list' | 'revisions'>;
  period?: ReportPeriod;
  now: () => number;
  live?: LiveSources;
}

const day = (ms: number, tz: string) => new Date(ms + offsetAt(ms, tz)).toISOString().slice(0, 10);

/** `2026-10-01..2026-12-31`: the period, or a ConfigError-worthy message. */
export function parsePeriod(text: string): ReportPeriod | string {
  const m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(text.trim());
  if (!m || Number.isNaN(Date.parse(m[1]!)) || Number.isNaN(Date.parse(m[2]!))) return `"${text}" is not a period; write START..END as days, e.g. 2026-10-01..2026-12-31`;
  if (m[2]! < m[1]!) return `"${text}" ends before it starts; give the first day first, e.g. 2026-10-01..2026-12-31`;
  return { from: m[1]!, to: m[2]! };
}

/** The period of the objectives when none is given: from the earliest start to the latest end. */
function defaultPeriod(config: Config): ReportPeriod {
  const start = Math.min(...config.objectives.map((o) => o.period.start));
  const end = Math.max(...config.objectives.map((o) => o.period.end));
  return { from: day(start, config.timezone), to: day(end - 1, config.timezone) };
}

export async function buildReport(opts: BuildReportOptions): Promise<ReportModel> {
  const { config, store, now } = opts;
  const period = opts.period ?? defaultPeriod(config);
  const from = startOfDay(period.from, config.timezone);
  const end = startOfDay(nextDay(period.to), config.timezone);
  // A period still running is reported as of now (scores are not final yet).
  const at = Math.min(end, now());
  const objectives = config.objectives.filter((o) => o.period.start < end && o.period.end > from);
  const round = new RoundReader(store);
  await planRound(round, objectives.flatMap((objective) => objective.keyResults.map((kr) => ({ objective, kr }))), at).catch(() => undefined);
  const results = [];
  for (const o of objectives) for (const kr of o.keyResults) results.push(await evaluateOrReport(o, kr, { store, at, now, live: opts.live, round }));
  // The view of `krt run --once --json`: the same numbers, rounded the same way.
  const views = objectivesView({ ...config, objectives }, results, now());
  const out: ReportObjective[] = [];
  for (const [i, o] of objectives.entries()) {
    const view = views[i]!;
    const keyResults: ReportKeyResult[] = [];
    for (const [j, kr] of o.keyResults.entries()) {
      const v = view.keyResults[j]!;
      const r = results.find((x) => x.objectiveId === o.id && x.keyResultId === kr.id)!;
      const points = await store.getHistory(o.id, kr.id, Math.max(from, o.period.start), Math.min(at, o.period.end));
      const revisions = (await opts.checkins.revisions(o.id, kr.id)).filter((rev) => rev.at < end).map((rev) => ({ ...rev, change: describeChange(rev) }));
      const measure = v.score ?? v.progress;
      const fmt = (x: number | null) => (x === null ? 'no value' : formatValue(kr, x));
      keyResults.push({
        ...v,
        kind: r.kind,
        points,
        revisions,
        revisedScore: revisedScore(revisions, definitionOf(o, kr), { value: v.value, baseline: v.baseline }),
        carriedOver: v.status !== 'achieved' && (measure === null || measure < SUCCESS_SCORE),
        shown: { value: fmt(v.value), target: fmt(v.target), baseline: fmt(v.baseline) },
      });
    }
    const scored = objectiveProgressOf(o, (id) => keyResults.find((k) => k.id === id)?.score);
    const checkins = (await opts.checkins.list(o.id)).filter((c) => c.at >= from && c.at < end).reverse();
    out.push({
      id: o.id,
      title: o.title,
      owner: o.owner,
      period: o.period,
      score: scored.progress === null ? null : Math.round(scored.progress * 10) / 10,
      progress: view.progress,
      final: at >= o.period.end,
      checkins,
      keyResults,
    });
  }
  return {
    title: `OKR report ${period.from}..${period.to}`,
    period,
    range: { start: from, end },
    at,
    generatedAt: now(),
    timezone: config.timezone,
    objectives: out,
    carriedOver: out.flatMap((o) =>
      o.keyResults.filter((k) => k.carriedOver).map((k) => ({ objective: o.id, keyResult: k.id, title: k.title, score: k.score, progress: k.progress, status: k.status })),
    ),
  };
}

