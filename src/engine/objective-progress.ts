import type { Objective } from '../config/types.js';

export interface ObjectiveProgress {
  /** Weighted mean progress of the key results that have one; null when none has. */
  progress: number | null;
  /** How many key results have a progress (and so count in `progress`). */
  withData: number;
  /** How many have none (no value, no baseline, not evaluated yet): left out of `progress`. */
  withoutData: number;
}

/**
 * An objective's progress over the key results that have data, and how many have none, so that
 * "100%" with two of three key results unmeasured is never shown without saying so.
 */
export function objectiveProgressOf(o: Objective, progressOf: (keyResultId: string) => number | null | undefined): ObjectiveProgress {
  let sum = 0;
  let weights = 0;
  let withData = 0;
  for (const kr of o.keyResults) {
    const p = progressOf(kr.id);
    if (p === null || p === undefined) continue;
    withData++;
    sum += p * kr.weight;
    weights += kr.weight;
  }
  return { progress: weights > 0 ? sum / weights : null, withData, withoutData: o.keyResults.length - withData };
}

/** Weighted mean progress of the objective's key results that have one; null when none has. */
export function objectiveProgress(o: Objective, progressOf: (keyResultId: string) => number | null | undefined): number | null {
  return objectiveProgressOf(o, progressOf).progress;
}

/** `67% (1 of 3 key results without data)`, `no data (3 key results without data)`: the progress as people read it. */
export function describeObjectiveProgress(p: ObjectiveProgress): string {
  const value = p.progress === null ? 'no data' : `${Math.round(p.progress * 100)}%`;
  if (p.withoutData === 0) return value;
  const total = p.withData + p.withoutData;
  return `${value} (${p.withoutData} of ${total} key result${total === 1 ? '' : 's'} without data${p.progress === null ? '' : '; progress is over the others'})`;
}
