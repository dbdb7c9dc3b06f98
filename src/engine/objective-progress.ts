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

/**
 * An objective's progress rolled up through the alignment tree (`parent:` links). For objective O
 * with own key results k (weight w_k, progress p_k) and child objectives c (weight W_c, rolled-up
 * progress P_c):
 *
 *   P_O = (sum of w_k * p_k over the key results with data + sum of W_c * P_c over the children with data)
 *       / (sum of those w_k + sum of those W_c)
 *
 * A key result without data and a child whose rolled-up progress is null are left out, as key
 * results without data are left out of an objective's own progress; null when nothing is left.
 * For an objective without children it equals `objectiveProgressOf(...).progress`.
 */
export interface RolledUpProgress extends ObjectiveProgress {
  /** The rolled-up progress P_O (for an objective without children: its own progress). */
  rollup: number | null;
  /** Ids of the objectives whose `parent` is this one, in config order. */
  children: string[];
  /** Children with a rolled-up progress, counted in `rollup`. */
  childrenWithData: number;
  /** Children without one (no key result with data anywhere below them): left out of `rollup`. */
  childrenWithoutData: number;
}

/** Every objective's own and rolled-up progress, by id. Parent links must form a forest (the config checks forbid cycles). */
export function rolledUpProgress(
  objectives: readonly Objective[],
  progressOf: (objectiveId: string, keyResultId: string) => number | null | undefined,
): Map<string, RolledUpProgress> {
  const children = new Map<string, Objective[]>(objectives.map((o) => [o.id, []]));
  for (const o of objectives) if (o.parent !== null && children.has(o.parent)) children.get(o.parent)!.push(o);
  const out = new Map<string, RolledUpProgress>();
  const visiting = new Set<string>();
  const visit = (o: Objective): RolledUpProgress => {
    const done = out.get(o.id);
    if (done) return done;
    // A cycle cannot pass validation; should one arrive anyway, its back edge counts as no data.
    visiting.add(o.id);
    const own = objectiveProgressOf(o, (kr) => progressOf(o.id, kr));
    let sum = 0;
    let weights = 0;
    for (const kr of o.keyResults) {
      const p = progressOf(o.id, kr.id);
      if (p === null || p === undefined) continue;
      sum += p * kr.weight;
      weights += kr.weight;
    }
    let childrenWithData = 0;
    const kids = children.get(o.id) ?? [];
    for (const child of kids) {
      const p = visiting.has(child.id) ? null : visit(child).rollup;
      if (p === null) continue;
      childrenWithData++;
      const w = child.weight ?? 1;
      sum += p * w;
      weights += w;
    }
    visiting.delete(o.id);
    const result: RolledUpProgress = {
      ...own,
      rollup: weights > 0 ? sum / weights : null,
      children: kids.map((c) => c.id),
      childrenWithData,
      childrenWithoutData: kids.length - childrenWithData,
    };
    out.set(o.id, result);
    return result;
  };
  for (const o of objectives) visit(o);
  return out;
}

/** The objectives in tree order (each parent followed by its children, depth first) with their depth; roots in config order. */
export function objectiveTree<T extends { id: string; parent: string | null }>(objectives: readonly T[]): Array<{ objective: T; depth: number }> {
  const ids = new Set(objectives.map((o) => o.id));
  const kids = new Map<string, T[]>();
  for (const o of objectives) if (o.parent !== null && ids.has(o.parent)) kids.set(o.parent, [...(kids.get(o.parent) ?? []), o]);
  const out: Array<{ objective: T; depth: number }> = [];
  const seen = new Set<string>();
  const walk = (o: T, depth: number) => {
    if (seen.has(o.id)) return;
    seen.add(o.id);
    out.push({ objective: o, depth });
    for (const c of kids.get(o.id) ?? []) walk(c, depth + 1);
  };
  for (const o of objectives) if (o.parent === null || !ids.has(o.parent)) walk(o, 0);
  // Objectives only reachable through a cycle (never in a valid config) still appear, at the top.
  for (const o of objectives) walk(o, 0);
  return out;
}
