// Course corrections: a KR's target, baseline, kind or period changed while its period runs. The
// definition of each KR is kept (as a fingerprint) so that a reload or a restart with a changed
// file is noticed, and the change is recorded instead of silently rewriting the past.
import type { KeyResult, Objective, Period, TargetSpec } from '../config/types.js';
import type { Kind } from '../core/result.js';
import type { EvaluationResult } from '../core/result.js';
import { progressOf, resolveKind, resolveTarget, scoreOf } from '../engine/progress.js';

/** The parts of a KR whose change is a revision. */
export interface KrDefinition {
  target: TargetSpec;
  baseline: number | null;
  kind: Kind | null;
  period: Period;
}

export const REVISED_FIELDS = ['target', 'baseline', 'kind', 'period'] as const;
export type RevisedField = (typeof REVISED_FIELDS)[number];

export interface Revision {
  objectiveId: string;
  keyResultId: string;
  /** When the change was noticed (reload or start), epoch ms. */
  at: number;
  fields: RevisedField[];
  before: KrDefinition;
  after: KrDefinition;
  /** The file's `x-revision`, else the `krt checkin --revise` note; null when nobody said why. */
  note: string | null;
}

export function definitionOf(objective: Objective, kr: KeyResult): KrDefinition {
  return { target: kr.target, baseline: kr.baseline, kind: kr.kind, period: { start: objective.period.start, end: objective.period.end } };
}

/** A stable text of the definition: equal definitions give equal fingerprints. */
export function fingerprint(d: KrDefinition): string {
  const target = d.target.type === 'absolute' ? { type: 'absolute', value: d.target.value } : { type: 'relative', ratio: d.target.ratio };
  return JSON.stringify({ target, baseline: d.baseline, kind: d.kind, period: { start: d.period.start, end: d.period.end } });
}

export function changedFields(a: KrDefinition, b: KrDefinition): RevisedField[] {
  return REVISED_FIELDS.filter((f) => JSON.stringify(fieldText(a, f)) !== JSON.stringify(fieldText(b, f)));
}

function fieldText(d: KrDefinition, f: RevisedField): unknown {
  return f === 'target' ? JSON.parse(fingerprint(d)).target : f === 'period' ? [d.period.start, d.period.end] : d[f];
}

/** `target 1 -> 0.5`, `period 2026-10-01..2026-12-31 -> 2026-10-01..2027-01-31`: a revision in words. */
export function describeChange(r: Pick<Revision, 'fields' | 'before' | 'after'>): string {
  const show = (d: KrDefinition, f: RevisedField): string => {
    switch (f) {
      case 'target':
        return d.target.type === 'absolute' ? String(d.target.value) : `${d.target.ratio > 0 ? '+' : ''}${+(d.target.ratio * 100).toFixed(4)}%`;
      case 'baseline':
        return d.baseline === null ? 'measured' : String(d.baseline);
      case 'kind':
        return d.kind ?? 'inferred';
      case 'period':
        return `${new Date(d.period.start).toISOString().slice(0, 10)}..${new Date(d.period.end - 1).toISOString().slice(0, 10)}`;
    }
  };
  return r.fields.map((f) => `${f} ${show(r.before, f)} -> ${show(r.after, f)}`).join(', ');
}

/** Whether a change noticed at `at` is a course correction: inside the (new) period. */
export function isMidPeriod(after: KrDefinition, at: number): boolean {
  return at >= after.period.start && at < after.period.end;
}

export interface TargetScore {
  target: number | null;
  progress: number | null;
  /** 0.0-1.0: progress rounded to one decimal. */
  score: number | null;
}

/**
 * The KR's value scored against a definition (the original one before the first revision, or
 * the one in force). A measured baseline (null in the definition) is the result's.
 */
export function scoreAgainst(d: KrDefinition, r: Pick<EvaluationResult, 'value' | 'baseline'>): TargetScore {
  const baseline = d.baseline ?? r.baseline;
  const target = resolveTarget(d.target, baseline);
  const kind = resolveKind(d.kind, baseline, target);
  if (r.value === null || target === null || kind === null) return { target, progress: null, score: null };
  const progress = progressOf(kind, r.value, baseline, target);
  return { target, progress, score: progress === null ? null : scoreOf(progress) };
}

/** Scores against the original target (before the first revision) and the revised one (now). */
export interface RevisedScore {
  original: TargetScore;
  revised: TargetScore;
}

export function revisedScore(revisions: readonly Revision[], current: KrDefinition, r: Pick<EvaluationResult, 'value' | 'baseline'>): RevisedScore | null {
  if (!revisions.length) return null;
  return { original: scoreAgainst(revisions[0]!.before, r), revised: scoreAgainst(current, r) };
}
