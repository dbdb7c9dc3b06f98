import type { Objective } from '../config/types.js';

/** Weighted mean progress of the objective's key results that have one; null when none has. */
export function objectiveProgress(o: Objective, progressOf: (keyResultId: string) => number | null | undefined): number | null {
  let sum = 0;
  let weights = 0;
  for (const kr of o.keyResults) {
    const p = progressOf(kr.id);
    if (p === null || p === undefined) continue;
    sum += p * kr.weight;
    weights += kr.weight;
  }
  return weights > 0 ? sum / weights : null;
}
