// PromQL over the series of src/exporters/metrics.ts, selected by the config's ids, and the
// reverse: every expression a generated dashboard sends to Prometheus.
import type { KeyResult, Objective, Period } from '../src/config/types.js';
import type { MetricName } from '../src/metrics/catalogue/index.js';
import { STATUSES, type Status } from '../src/core/result.js';

/** The dashboard variable that filters the overview panels; its "All" value matches every key result. */
export const KEY_RESULT_VARIABLE = 'key_result';
export const KEY_RESULT_ALL = '.+';

// Ids are `a-z0-9_-` (config checks), but a JSON string is also a valid PromQL string literal, so
// anything else would still be quoted correctly.
const q = (value: string): string => JSON.stringify(value);

/** `objective="cicd",key_result="deploy-time"` */
export function krMatchers(kr: KeyResult): string {
  return `objective=${q(kr.objectiveId)},key_result=${q(kr.id)}`;
}

/** `objective="cicd"` */
export function objectiveMatchers(objective: Objective): string {
  return `objective=${q(objective.id)}`;
}

/** The objective's key results chosen in the `key_result` variable (multi-value, so a regex). */
export function selectedKrMatchers(objective: Objective): string {
  return `${objectiveMatchers(objective)},${KEY_RESULT_VARIABLE}=~"$${KEY_RESULT_VARIABLE}"`;
}

export type KrGauge =
  | 'okr_key_result_value'
  | 'okr_key_result_target'
  | 'okr_key_result_baseline'
  | 'okr_key_result_progress_ratio'
  | 'okr_key_result_expected_progress_ratio'
  | 'okr_key_result_forecast';

export function krSeries(name: KrGauge, kr: KeyResult): string {
  return `${name}{${krMatchers(kr)}}`;
}

/**
 * The straight line from baseline to target over the period, the trajectory that
 * `okr_key_result_expected_progress_ratio` measures against:
 * baseline + (target - baseline) * clamp((t - start) / (end - start), 0, 1).
 * clamp() takes an instant vector, hence vector() around the scalar and scalar() around the result
 * (a label-less vector would not match the key result's labels in the multiplication).
 */
export function krTrajectoryQuery(kr: KeyResult, period: Period): string {
  const baseline = krSeries('okr_key_result_baseline', kr);
  const target = krSeries('okr_key_result_target', kr);
  const start = period.start / 1000;
  const length = (period.end - period.start) / 1000;
  return `${baseline} + (${target} - ${baseline}) * scalar(clamp(vector((time() - ${start}) / ${length}), 0, 1))`;
}

/** The status as a number: its index in STATUSES (0 on_track ... 4 no_data). */
export const STATUS_CODES: Record<(typeof STATUSES)[number], number> = Object.fromEntries(
  STATUSES.map((s, i) => [s, i]),
) as Record<(typeof STATUSES)[number], number>;

/**
 * `okr_key_result_status` is one series per status, 1 for the current one; this turns the current
 * one into its code (absent when no status is 1), so a stat panel can map it to a word and colour.
 * max() keeps one series per key result when several instances export the same result.
 */
export function statusCodeQuery(matchers: string): string {
  const terms = STATUSES.map((s) => `(okr_key_result_status{${matchers},status=${q(s)}} == 1) * ${STATUS_CODES[s]}`);
  return `max by (objective, key_result) (${terms.join(' or ')})`;
}

export function objectiveProgressQuery(objective: Objective): string {
  return `max by (objective) (okr_objective_progress_ratio{${objectiveMatchers(objective)}})`;
}

/** Seconds since the least recently evaluated key result of the objective was evaluated. */
export function oldestEvaluationAgeQuery(objective: Objective): string {
  return `time() - min(okr_key_result_last_evaluation_timestamp_seconds{${objectiveMatchers(objective)}})`;
}

export function selectedProgressQuery(objective: Objective): string {
  return `okr_key_result_progress_ratio{${selectedKrMatchers(objective)}}`;
}

// ---- The overview, DORA and source-health dashboards ----

/** Their variables: multi-valued, "All" matching every value (ids and owners are never empty). */
export const OBJECTIVE_VARIABLE = 'objective';
export const OWNER_VARIABLE = 'owner';
export const SOURCE_VARIABLE = 'source';
export const ALL_VALUES = '.+';

/** `objective=~"$objective"`: a multi-value variable is sent as a regex alternation. */
export function selectedBy(variable: string): string {
  return `${variable}=~"$${variable}"`;
}

/** The objectives chosen in the objective variable whose owner is chosen in the owner variable. */
const chosenObjectives = `${selectedBy(OBJECTIVE_VARIABLE)},${selectedBy(OWNER_VARIABLE)}`;

/**
 * Most urgent first: off track, at risk, no data, on track, achieved. The overview sorts key
 * results by it and colours an objective by its most urgent key result.
 */
export const SEVERITY: Record<Status, number> = { achieved: 0, on_track: 1, no_data: 2, at_risk: 3, off_track: 4 };

/** The current status of each key result as its SEVERITY, like statusCodeQuery. */
export function severityQuery(matchers: string): string {
  const terms = STATUSES.map((s) => `(okr_key_result_status{${matchers},status=${q(s)}} == 1) * ${SEVERITY[s]}`);
  return `max by (objective, key_result) (${terms.join(' or ')})`;
}

/**
 * `expr` (one series per key result) with labels of okr_key_result_info added, keeping only the
 * key results that `infoMatchers` selects. The info side is reduced to one series per key result
 * first, so several instances exporting the same info do not make the join many-to-many.
 */
export function withKrInfo(expr: string, infoMatchers: string, labels: readonly string[]): string {
  const by = ['objective', 'key_result', ...labels].join(', ');
  return `max by (${by}) (${expr} * on (objective, key_result) group_left (${labels.join(', ')}) max by (${by}) (okr_key_result_info{${infoMatchers}}))`;
}

/** The same for one series per objective and okr_objective_info. */
export function withObjectiveInfo(expr: string, labels: readonly string[]): string {
  const by = ['objective', ...labels].join(', ');
  return `max by (${by}) (${expr} * on (objective) group_left (${labels.join(', ')}) max by (${by}) (okr_objective_info{${chosenObjectives}}))`;
}

/** Labels the overview's key result table shows. */
export const KR_TABLE_LABELS = ['title', 'owner', 'metric'] as const;

/** The key result table's status column: sorted most urgent first (sort_desc orders instant results). */
export function krSeverityTableQuery(): string {
  return `sort_desc(${withKrInfo(severityQuery(selectedBy(OBJECTIVE_VARIABLE)), chosenObjectives, KR_TABLE_LABELS)})`;
}

export function krTableQuery(name: 'okr_key_result_progress_ratio' | 'okr_key_result_expected_progress_ratio'): string {
  return withKrInfo(`${name}{${selectedBy(OBJECTIVE_VARIABLE)}}`, chosenObjectives, KR_TABLE_LABELS);
}

export function objectivesProgressQuery(): string {
  return withObjectiveInfo(`okr_objective_progress_ratio{${selectedBy(OBJECTIVE_VARIABLE)}}`, ['title']);
}

/**
 * Each objective's place in the alignment tree (parents before their children, depth first) as
 * 1, 2, 3, ...: a constant per objective id, joined to okr_objective_info so that the variables
 * filter it like every other overview query. The overview's tree table sorts by it.
 */
export function objectiveTreeOrderQuery(order: readonly string[]): string {
  const terms = order.map((id, i) => `label_replace(vector(${i + 1}), "objective", ${q(id)}, "", "")`);
  return withObjectiveInfo(`(${terms.join(' or ')})`, ['title', 'owner']);
}

/** Each objective's most urgent key result status, as a SEVERITY. */
export function objectivesSeverityQuery(): string {
  return withObjectiveInfo(severityQuery(selectedBy(OBJECTIVE_VARIABLE)), ['title']);
}

/** How many key results are in each status. */
export function statusCountQuery(): string {
  return (
    `count by (status) (max by (objective, key_result, status) (okr_key_result_status{${selectedBy(OBJECTIVE_VARIABLE)}} == 1) ` +
    `and on (objective, key_result) okr_key_result_info{${chosenObjectives}})`
  );
}

/** A DORA metric's key results (okr_key_result_info{metric=...}) of the chosen objectives. */
export function doraKrQuery(name: 'okr_key_result_value' | 'okr_key_result_target', metric: MetricName): string {
  return withKrInfo(`${name}{${selectedBy(OBJECTIVE_VARIABLE)}}`, `${chosenObjectives},metric=${q(metric)}`, ['title']);
}

export type SourceGauge =
  | 'krt_source_sync_up'
  | 'krt_source_last_sync_duration_seconds'
  | 'krt_source_rate_limit_remaining'
  | 'krt_source_events_stored_total';
export type SourceCounter =
  | 'krt_source_requests_total'
  | 'krt_source_not_modified_responses_total'
  | 'krt_source_sync_failures_total'
  | 'krt_source_events_stored_total';

const STREAM = 'source, stream, key';

// Every instance exports the same totals (they are read from the shared store), so series of
// several instances are merged with max, never summed.

/** One series per stream of the chosen sources. */
export function sourceSeries(name: SourceGauge): string {
  return `max by (${STREAM}) (${name}{${selectedBy(SOURCE_VARIABLE)}})`;
}

/** Seconds since the stream last synced successfully. */
export function lastSuccessAgeQuery(): string {
  return `time() - max by (${STREAM}) (krt_source_last_sync_success_timestamp_seconds{${selectedBy(SOURCE_VARIABLE)}})`;
}

/** Per-second rate of a counter per stream, times `per` (60: per minute). */
export function sourceRateQuery(name: SourceCounter, per: number): string {
  return `max by (${STREAM}) (rate(${name}{${selectedBy(SOURCE_VARIABLE)}}[$__rate_interval])) * ${per}`;
}

/** Share of requests answered 304 Not Modified; no series while a stream makes no requests (not NaN). */
export function notModifiedRatioQuery(): string {
  const rate = (name: SourceCounter) => `max by (${STREAM}) (rate(${name}{${selectedBy(SOURCE_VARIABLE)}}[$__rate_interval]))`;
  return `${rate('krt_source_not_modified_responses_total')} / (${rate('krt_source_requests_total')} > 0)`;
}
