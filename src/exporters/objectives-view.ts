import type { Config } from '../config/types.js';
import { resultKey, type Component, type EvaluationResult } from '../core/result.js';
import { rolledUpProgress } from '../engine/objective-progress.js';
import { expectedProgress, statusOf } from '../engine/progress.js';
import { DEFAULTS } from '../config/normalize.js';
import { effectiveStatus } from './metrics.js';

export interface KeyResultView {
  id: string;
  title: string;
  metric: string;
  unit: string;
  value: number | null;
  baseline: number | null;
  target: number | null;
  progress: number | null;
  expected: number | null;
  status: EvaluationResult['status'];
  forecast: number | null;
  score: number | null;
  evaluatedAt: string | null;
  error: string | null;
  /**
   * The metric per repository (or service) of a key result over several, worst first, at most
   * `breakdowns.max` (METRICS.md "Breakdowns"); empty for a key result over one.
   */
  components: Component[];
}

export interface ObjectiveView {
  id: string;
  title: string;
  owner: string;
  team: string | null;
  /** The objective it aligns to (`parent:`), or null for a top-level objective. */
  parent: string | null;
  /** The objectives aligned to this one (their `parent` is this id), in config order. */
  children: string[];
  /** How much it counts in its parent's progress (`weight:`, default 1). */
  weight: number;
  /**
   * The objective's progress: the weighted mean over its key results that have one and its
   * children that have one (rolled up, docs/aligned-objectives.md); without children, that of its
   * key results alone. null when nothing below it has data.
   */
  progress: number | null;
  /** Weighted mean progress of its own key results alone (null when none has); equals `progress` without children. */
  ownProgress: number | null;
  /** Where the straight trajectory expects it at `at`: clamp((t - start) / (end - start), 0, 1). */
  expected: number;
  /** From `progress` and `expected` as for a key result, with the default bands (0.10, 0.25). */
  status: EvaluationResult['status'];
  /** Children with a progress, counted in `progress`; children without one are left out. */
  childrenWithData: number;
  childrenWithoutData: number;
  /** Key results with a progress, counted in `progress`. */
  keyResultsWithData: number;
  /** Key results without one (no value yet, no baseline, a failing source): not in `progress`. */
  keyResultsWithoutData: number;
  keyResults: KeyResultView[];
}

/** The JSON of `GET /api/v1/objectives`, `krt run --once --json` and `krt status --json`. */
export interface ObjectivesDocument {
  /** The instant evaluated (ISO 8601). */
  at: string;
  objectives: ObjectiveView[];
}

/** objectivesView with the instant: the one shape the HTTP API and the CLI print. */
export function objectivesDocument(config: Config, results: readonly EvaluationResult[], now: number, at: number = now): ObjectivesDocument {
  return { at: new Date(at).toISOString(), objectives: objectivesView(config, results, now, at) };
}

/** Objectives with their key results' latest results: the JSON of `krt run --json` and the HTTP API. */
export function objectivesView(config: Config, results: readonly EvaluationResult[], now: number, at: number = now): ObjectiveView[] {
  const byKey = new Map(results.map((r) => [resultKey(r.objectiveId, r.keyResultId), r]));
  const views = new Map<string, KeyResultView[]>();
  const built = config.objectives.map((o) => {
    const keyResults = o.keyResults.map((kr): KeyResultView => {
      const r = byKey.get(resultKey(o.id, kr.id));
      return {
        id: kr.id,
        title: kr.title,
        metric: kr.metric,
        unit: kr.unit,
        value: r?.value ?? null,
        baseline: r?.baseline ?? kr.baseline,
        target: r?.target ?? null,
        progress: r?.progress ?? null,
        expected: r?.expected ?? null,
        status: r ? effectiveStatus(r, now, config.schedule.evaluateMs) : 'no_data',
        forecast: r?.forecast ?? null,
        score: r?.score ?? null,
        evaluatedAt: r ? new Date(r.evaluatedAt).toISOString() : null,
        error: r?.error ?? (r ? null : 'not evaluated yet'),
        components: r?.components ?? [],
      };
    });
    views.set(o.id, keyResults);
    return { o, keyResults };
  });
  const tree = rolledUpProgress(config.objectives, (o, kr) => views.get(o)?.find((k) => k.id === kr)?.progress);
  return built.map(({ o, keyResults }): ObjectiveView => {
    const p = tree.get(o.id)!;
    const expected = expectedProgress(o.period, at);
    return {
      id: o.id,
      title: o.title,
      owner: o.owner,
      team: o.team,
      parent: o.parent,
      children: p.children,
      weight: o.weight ?? DEFAULTS.weight,
      progress: p.rollup,
      ownProgress: p.progress,
      expected,
      status: statusOf({ kind: 'increase', progress: p.rollup, expected, bands: DEFAULTS.bands, periodEnded: at >= o.period.end }),
      keyResultsWithData: p.withData,
      keyResultsWithoutData: p.withoutData,
      childrenWithData: p.childrenWithData,
      childrenWithoutData: p.childrenWithoutData,
      keyResults,
    };
  });
}
