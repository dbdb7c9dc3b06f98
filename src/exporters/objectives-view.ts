import type { Config } from '../config/types.js';
import { resultKey, type Component, type EvaluationResult } from '../core/result.js';
import { objectiveProgressOf } from '../engine/objective-progress.js';
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
  /** Weighted mean progress of the key results that have one (null when none has). */
  progress: number | null;
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
  return { at: new Date(at).toISOString(), objectives: objectivesView(config, results, now) };
}

/** Objectives with their key results' latest results: the JSON of `krt run --json` and the HTTP API. */
export function objectivesView(config: Config, results: readonly EvaluationResult[], now: number): ObjectiveView[] {
  const byKey = new Map(results.map((r) => [resultKey(r.objectiveId, r.keyResultId), r]));
  return config.objectives.map((o) => {
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
    const p = objectiveProgressOf(o, (id) => keyResults.find((k) => k.id === id)?.progress);
    return { id: o.id, title: o.title, owner: o.owner, progress: p.progress, keyResultsWithData: p.withData, keyResultsWithoutData: p.withoutData, keyResults };
  });
}
