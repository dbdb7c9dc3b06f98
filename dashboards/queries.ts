// PromQL over the series of src/exporters/metrics.ts, selected by the config's ids, and the
// reverse: every expression a generated dashboard sends to Prometheus.
import type { KeyResult, Objective, Period } from '../src/config/types.js';
import { STATUSES } from '../src/engine/result.js';

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

interface DashboardJson {
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}
interface PanelJson {
  targets?: { expr?: unknown }[];
  panels?: PanelJson[];
}
interface VariableJson {
  name?: string;
  type?: string;
  includeAll?: boolean;
  allValue?: string;
}

/**
 * Every PromQL expression the panels of a generated dashboard send (rows' nested panels included),
 * in panel order. Unless `raw`, dashboard variables are replaced as Grafana does when "All" is
 * chosen (their allValue), so each expression can be sent to a Prometheus as it is. Variable
 * queries (`label_values(...)`) are Grafana functions, not PromQL, and are not included.
 */
export function expectedDashboardQueries(json: string | object, options: { raw?: boolean } = {}): string[] {
  const dashboard = (typeof json === 'string' ? JSON.parse(json) : json) as DashboardJson;
  const exprs: string[] = [];
  const visit = (panels: PanelJson[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr !== '') exprs.push(target.expr);
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  if (options.raw) return exprs;

  const values = new Map<string, string>();
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'query' && v.name && v.includeAll) values.set(v.name, v.allValue ?? '.*');
  }
  // Grafana's variable syntaxes: ${name}, [[name]] and $name (not followed by a word character,
  // so $key would not eat the start of $key_result).
  return exprs.map((expr) =>
    [...values].reduce(
      (text, [name, value]) =>
        text
          .split(`\${${name}}`)
          .join(value)
          .split(`[[${name}]]`)
          .join(value)
          .replace(new RegExp(`\\$${name}(?!\\w)`, 'g'), () => value),
      expr,
    ),
  );
}
