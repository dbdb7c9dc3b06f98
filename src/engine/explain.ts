// `krt explain` and GET /api/v1/key-results/{objective}/{kr}/explain (METRICS.md "Explanations"):
// the inputs behind one value, so that anyone can recompute it by hand. The value is measured
// exactly as an evaluation measures it (same reads, same metric function); the lists come from the
// metric's descriptor (`explain`), over the whole of the key result's partitions so that flags that
// look before the window (a rollback, an incident still open) are right.
import type { Config, KeyResult, Objective } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { metricOf } from '../metrics/catalogue/index.js';
import type { ExplainLists } from '../metrics/catalogue/types.js';
import { instantsOf } from './evaluate.js';
import { measureContext, measurer, type LiveSources } from './measure.js';
import { RoundReader } from './round.js';

/** The JSON of `krt explain --json` and of the API. */
export interface Explanation extends ExplainLists {
  objective: string;
  keyResult: string;
  metric: string;
  /** The instant explained, ISO 8601. */
  at: string;
  value: number | null;
  /** The window (from, to] the metric counted events in; null for a metric without one. */
  window: { from: string; to: string } | null;
}

/** The objective and key result `OBJECTIVE/KR` names, or a ConfigError naming what exists. */
export function findKeyResult(config: Config, ref: string): { objective: Objective; kr: KeyResult } {
  const slash = ref.indexOf('/');
  const all = config.objectives.flatMap((o) => o.keyResults.map((k) => `${o.id}/${k.id}`));
  const some = all.slice(0, 8).join(', ') + (all.length > 8 ? ', ...' : '');
  if (slash < 0) throw new ConfigError(`"${ref}" is not OBJECTIVE/KR; write e.g. ${all[0] ?? 'cicd/change-failure-rate'} (key results: ${some})`);
  const objective = config.objectives.find((o) => o.id === ref.slice(0, slash));
  if (!objective) throw new ConfigError(`no objective "${ref.slice(0, slash)}" in ${config.file}; objectives: ${config.objectives.map((o) => o.id).join(', ')}`);
  const kr = objective.keyResults.find((k) => k.id === ref.slice(slash + 1));
  if (!kr) throw new ConfigError(`objective ${objective.id} has no key result "${ref.slice(slash + 1)}"; it has: ${objective.keyResults.map((k) => k.id).join(', ')}`);
  return { objective, kr };
}

export interface ExplainOptions {
  store: Store;
  at: number;
  live?: LiveSources;
  round?: RoundReader;
}

/** The inputs behind the key result's value at `at`. */
export async function explainKeyResult(objective: Objective, kr: KeyResult, { store, at, live = {}, round = new RoundReader(store) }: ExplainOptions): Promise<Explanation> {
  const d = metricOf(kr.metric);
  // As evaluateKeyResult measures it, so that the value is the one run --once and /metrics give.
  const value = await (await measurer(kr, round, live, instantsOf(objective, kr, at)))(at);
  const lists = d.explain ? await (await d.explain(kr, measureContext(kr, round, live)))(at) : {};
  return {
    objective: objective.id,
    keyResult: kr.id,
    metric: kr.metric,
    at: new Date(at).toISOString(),
    value,
    window: d.windowed ? { from: new Date(at - kr.windowMs).toISOString(), to: new Date(at).toISOString() } : null,
    ...lists,
  };
}
