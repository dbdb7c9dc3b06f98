import type { Config } from '../config/types.js';
import { resultKey, type EvaluationResult } from '../engine/result.js';
import { objectiveProgress } from '../engine/objective-progress.js';
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
}

export interface ObjectiveView {
  id: string;
  title: string;
  owner: string;
  progress: number | null;
  keyResults: KeyResultView[];
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
      };
    });
    return { id: o.id, title: o.title, owner: o.owner, progress: objectiveProgress(o, (id) => keyResults.find((k) => k.id === id)?.progress), keyResults };
  });
}
