// The panels of an objective dashboard, each a small function from a config object to a
// grafana-foundation-sdk builder (positions and ids are given by layout.ts).
// Panel options follow the SDK's types (node_modules/@grafana/grafana-foundation-sdk/dist/*/
// panelBuilder.gen.d.ts); the values shown are the series of src/exporters/metrics.ts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { KeyResult, MetricName, Objective, Period } from '../src/config/types.js';
import { resolveKind, resolveTarget } from '../src/engine/progress.js';
import { STATUSES, type Status } from '../src/engine/result.js';
import {
  krMatchers,
  krSeries,
  krTrajectoryQuery,
  objectiveProgressQuery,
  oldestEvaluationAgeQuery,
  selectedKrMatchers,
  selectedProgressQuery,
  STATUS_CODES,
  statusCodeQuery,
} from './queries.js';

/** The `datasource` dashboard variable; every panel and query reads through it. */
export const DATASOURCE_VARIABLE = 'datasource';

export function datasourceRef(): common.DataSourceRef {
  return { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
}

/** Grafana unit ids (grafana/packages/grafana-data/src/valueFormats/categories.ts) for kr.unit. */
const GRAFANA_UNITS: Record<string, string> = {
  seconds: 's',
  s: 's',
  milliseconds: 'ms',
  ms: 'ms',
  ratio: 'percentunit',
  percent: 'percent',
  count: 'short',
  bytes: 'bytes',
  per_day: 'suffix: /day',
};

/** The Grafana unit for a key result's unit; a unit Grafana does not know is shown as a suffix. */
export function grafanaUnit(unit: string): string {
  return GRAFANA_UNITS[unit] ?? `suffix: ${unit}`;
}

/** Which way each built-in metric gets better (METRICS.md); PromQL can be anything. */
const METRIC_DIRECTION: Partial<Record<MetricName, 'up' | 'down'>> = {
  deployment_frequency: 'up',
  lead_time_for_changes: 'down',
  change_failure_rate: 'down',
  rollback_rate: 'down',
  time_to_restore: 'down',
  time_to_acknowledge: 'down',
  incident_count: 'down',
  ci_success_rate: 'up',
  ci_duration: 'down',
  test_coverage: 'up',
  deployment_rework_rate: 'down',
  pr_cycle_time: 'down',
};

/**
 * Which way is better, for colours: the kind, else the sign of a relative target, else baseline ->
 * target as the engine infers it (src/engine/progress.ts resolveKind). With the baseline still to
 * be measured, the engine decides at run time; the metric's natural direction is the best guess here.
 */
export function krDirection(kr: KeyResult): 'up' | 'down' | null {
  if (kr.kind === null && kr.target.type === 'relative' && kr.target.ratio !== 0) return kr.target.ratio > 0 ? 'up' : 'down';
  const kind = resolveKind(kr.kind, kr.baseline, resolveTarget(kr.target, kr.baseline));
  if (kind === null) return METRIC_DIRECTION[kr.metric] ?? null;
  return kind === 'increase' || kind === 'maintain_above' ? 'up' : 'down';
}

const isMaintain = (kr: KeyResult) => kr.kind === 'maintain_above' || kr.kind === 'maintain_below';

/** Colours of the five statuses, in STATUSES order. */
export const STATUS_STYLE: Record<Status, { text: string; color: string }> = {
  on_track: { text: 'On track', color: 'green' },
  at_risk: { text: 'At risk', color: 'yellow' },
  off_track: { text: 'Off track', color: 'red' },
  achieved: { text: 'Achieved', color: 'blue' },
  no_data: { text: 'No data', color: 'gray' },
};

/** 0.5 * (1 - 0.3) is 0.35000000000000003 in floating point; shown and compared as 0.35. */
const tidy = (x: number): number => Number(x.toPrecision(12));

export function thresholds(steps: dashboard.Threshold[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

/**
 * Thresholds on the key result's own value, and what the colours mean. Grafana applies a step
 * from its value upwards (value >= step), so for "lower is better" a value exactly on the target
 * takes the colour above it; only the target is known statically, so this is the closest.
 */
export function krValueThresholds(kr: KeyResult): { config: dashboard.ThresholdsConfigBuilder; meaning: string } {
  const resolved = resolveTarget(kr.target, kr.baseline);
  const target = resolved === null ? null : tidy(resolved);
  const direction = krDirection(kr);
  if (target === null || direction === null) {
    return {
      config: thresholds([{ value: null, color: 'blue' }]),
      meaning: 'The target or which way is better is only known once the baseline is measured at the period start, so the value is not coloured; the status panel tells how it is going.',
    };
  }
  const baseline = kr.baseline;
  if (direction === 'up') {
    if (!isMaintain(kr) && baseline !== null && baseline < target) {
      return {
        config: thresholds([
          { value: null, color: 'red' },
          { value: baseline, color: 'yellow' },
          { value: target, color: 'green' },
        ]),
        meaning: `Green at or above the target (${target}), yellow between the baseline (${baseline}) and the target, red below the baseline.`,
      };
    }
    return {
      config: thresholds([
        { value: null, color: 'red' },
        { value: target, color: 'green' },
      ]),
      meaning: `Green at or above the target (${target}), red below it.`,
    };
  }
  if (!isMaintain(kr) && baseline !== null && baseline > target) {
    return {
      config: thresholds([
        { value: null, color: 'green' },
        { value: target, color: 'yellow' },
        { value: baseline, color: 'red' },
      ]),
      meaning: `Green below the target (${target}), yellow between the target and the baseline (${baseline}), red at or above the baseline.`,
    };
  }
  return {
    config: thresholds([
      { value: null, color: 'green' },
      { value: target, color: 'red' },
    ]),
    meaning: `Green below the target (${target}), red at or above it.`,
  };
}

function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/** The unit as words in a sentence: `1 per day`, `0.85 (ratio, 1 = 100%)`. */
function unitWord(unit: string): string {
  return unit === 'per_day' ? 'per day' : unit === 'ratio' ? '(ratio, 1 = 100%)' : unit;
}

function targetText(kr: KeyResult): string {
  if (kr.target.type === 'absolute') return `${kr.target.value} ${unitWord(kr.unit)}`;
  const percent = `${kr.target.ratio > 0 ? '+' : ''}${Math.round(kr.target.ratio * 1e6) / 1e4}%`;
  const resolved = resolveTarget(kr.target, kr.baseline);
  return resolved === null ? `${percent} of the baseline` : `${percent} of the baseline, ${tidy(resolved)} ${unitWord(kr.unit)}`;
}

/** One paragraph that says what the key result measures, for panel descriptions. */
export function krSummary(kr: KeyResult): string {
  const measured =
    kr.metric === 'promql' ? `PromQL \`${kr.query ?? ''}\`` : `\`${kr.metric}\` over a ${formatWindow(kr.windowMs)} window`;
  const direction = krDirection(kr);
  const better = direction === null ? '' : direction === 'up' ? ' Higher is better.' : ' Lower is better.';
  const baseline = kr.baseline === null ? 'measured at the period start' : `${kr.baseline} ${unitWord(kr.unit)}`;
  return `Key result "${kr.title}" (\`${kr.id}\`): ${measured}. Target ${targetText(kr)}; baseline ${baseline}.${better}`;
}

export function query(refId: string, expr: string, legend: string, type: 'range' | 'instant' = 'range'): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder()
    .refId(refId)
    .datasource(datasourceRef())
    .editorMode(prometheus.QueryEditorMode.Code)
    .expr(expr)
    .legendFormat(legend);
  return type === 'range' ? q.range() : q.instant();
}

/** The last non-null point of the queried range: "now" for the period under way, the end for a past one. */
export function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']);
}

export function fixedColor(color: string): dashboard.DynamicConfigValue {
  return { id: 'color', value: new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Fixed).fixedColor(color).build() };
}

export function lineStyle(fill: 'dash' | 'dot', dash: number[]): dashboard.DynamicConfigValue {
  return { id: 'custom.lineStyle', value: new common.LineStyleBuilder().fill(fill).dash(dash).build() };
}

/** Series named by key result id (`{{key_result}}`) are shown with the key result's title. */
function withKrTitles<B extends { overrideByName(name: string, properties: dashboard.DynamicConfigValue[]): B }>(
  builder: B,
  objective: Objective,
): B {
  return objective.keyResults.reduce((b, kr) => b.overrideByName(kr.id, [{ id: 'displayName', value: kr.title }]), builder);
}

function statusMappings(): dashboard.ValueMapping[] {
  const byCode: Record<string, dashboard.ValueMappingResult> = {};
  for (const [index, status] of STATUSES.entries()) {
    byCode[String(STATUS_CODES[status])] = { ...STATUS_STYLE[status], index };
  }
  return [
    { type: dashboard.MappingType.ValueToText, options: byCode },
    {
      type: dashboard.MappingType.SpecialValue,
      options: { match: dashboard.SpecialValueMatch.NullAndNan, result: { ...STATUS_STYLE.no_data, index: STATUSES.length } },
    },
  ];
}

/** The same colours as the mappings, by code, so the colour is right even where mappings are not applied. */
function statusThresholds(): dashboard.ThresholdsConfigBuilder {
  return thresholds(
    STATUSES.map((status, i) => ({ value: i === 0 ? null : STATUS_CODES[status], color: STATUS_STYLE[status].color })),
  );
}

const STATUS_LEGEND = STATUSES.map((s) => `${STATUS_CODES[s]} ${STATUS_STYLE[s].text.toLowerCase()}`).join(', ');

// ---- Per key result ----

/** The current value and the forecast at the period end, coloured against the target. */
export function krStatPanel(kr: KeyResult): stat.PanelBuilder {
  const { config, meaning } = krValueThresholds(kr);
  return new stat.PanelBuilder()
    .title(`Value: ${kr.title}`)
    .description(`${krSummary(kr)}\n\nNow: the latest value. Forecast: the value expected at the period end (least squares over the period). ${meaning}`)
    .datasource(datasourceRef())
    .withTarget(query('A', krSeries('okr_key_result_value', kr), 'Now'))
    .withTarget(query('B', krSeries('okr_key_result_forecast', kr), 'Forecast'))
    .unit(grafanaUnit(kr.unit))
    .thresholds(config)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.ValueAndName);
}

/** The value over the period against the target, the baseline and the planned straight trajectory. */
export function krTrajectoryTimeseries(kr: KeyResult, period: Period): timeseries.PanelBuilder {
  // A maintain kind holds one threshold all period: its target line is the plan.
  const trajectory = !isMaintain(kr);
  const panel = new timeseries.PanelBuilder()
    .title(`Trajectory: ${kr.title}`)
    .description(
      `${krSummary(kr)}\n\nThe value over the period against its target and baseline` +
        (trajectory ? ', and the planned straight line from the baseline at the period start to the target at its end' : '') +
        ' (drawn where the key result has been evaluated).',
    )
    .datasource(datasourceRef())
    .withTarget(query('A', krSeries('okr_key_result_value', kr), 'Value'))
    .withTarget(query('B', krSeries('okr_key_result_target', kr), 'Target'))
    .withTarget(query('C', krSeries('okr_key_result_baseline', kr), 'Baseline'));
  if (trajectory) panel.withTarget(query('D', krTrajectoryQuery(kr, period), 'Planned trajectory'));
  panel
    .unit(grafanaUnit(kr.unit))
    .thresholds(krValueThresholds(kr).config)
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Off))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(1)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .overrideByQuery('A', [fixedColor('blue'), { id: 'custom.lineWidth', value: 2 }])
    .overrideByQuery('B', [fixedColor('green'), lineStyle('dash', [10, 10])])
    .overrideByQuery('C', [fixedColor('gray'), lineStyle('dot', [0, 10])]);
  if (trajectory) panel.overrideByQuery('D', [fixedColor('purple'), lineStyle('dash', [4, 6])]);
  return panel;
}

/** Progress from baseline to target against the progress expected by now (the burn-up). */
export function krProgressPanel(kr: KeyResult): timeseries.PanelBuilder {
  return ratioTimeseriesStyle(
    new timeseries.PanelBuilder()
      .title(`Progress: ${kr.title}`)
      .description(
        `${krSummary(kr)}\n\nProgress: clamp((value - baseline) / (target - baseline), 0, 1)` +
          `${isMaintain(kr) ? ' (for a maintain kind: 100% while the threshold holds)' : ''}. ` +
          'Expected: where the straight trajectory is at that time. The gap between them sets the status; the dashed line is 100%.',
      )
      .datasource(datasourceRef())
      .withTarget(query('A', krSeries('okr_key_result_progress_ratio', kr), 'Progress'))
      .withTarget(query('B', krSeries('okr_key_result_expected_progress_ratio', kr), 'Expected')),
    1,
    common.SortOrder.None,
  )
    .overrideByQuery('A', [fixedColor('blue'), { id: 'custom.lineWidth', value: 2 }, { id: 'custom.fillOpacity', value: 10 }])
    .overrideByQuery('B', [fixedColor('gray'), lineStyle('dash', [10, 10])]);
}

/** The current status as a coloured word. */
export function krStatusPanel(kr: KeyResult): stat.PanelBuilder {
  return codedStat(
    new stat.PanelBuilder()
      .title(`Status: ${kr.title}`)
      .description(
        `${krSummary(kr)}\n\nThe status of the latest evaluation (\`okr_key_result_status\`, coded ${STATUS_LEGEND}). ` +
          `On track while progress is at most ${tidy(kr.bands.atRisk * 100)} percentage points behind the expected progress, ` +
          `at risk up to ${tidy(kr.bands.offTrack * 100)} behind, off track beyond; ` +
          'no data when the value cannot be measured or the last evaluation is stale.',
      )
      .datasource(datasourceRef())
      .withTarget(query('A', statusCodeQuery(krMatchers(kr)), 'Status')),
    { max: STATUSES.length - 1, mappings: statusMappings(), thresholds: statusThresholds(), textMode: common.BigValueTextMode.Value },
  );
}

// ---- Per objective (the overview row) ----

export function objectiveProgressGauge(objective: Objective): gauge.PanelBuilder {
  return new gauge.PanelBuilder()
    .title('Objective progress')
    .description(
      `Progress of the objective "${objective.title}": the weighted mean progress of its key results that have one ` +
        `(${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')}).`,
    )
    .datasource(datasourceRef())
    .withTarget(query('A', objectiveProgressQuery(objective), 'Progress'))
    .unit('percentunit')
    .min(0)
    .max(1)
    .decimals(0)
    .thresholds(
      thresholds([
        { value: null, color: 'blue' },
        { value: 1, color: 'green' },
      ]),
    )
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .showThresholdMarkers(true)
    .showThresholdLabels(false);
}

/** One coloured tile per key result chosen in the `key_result` variable. */
export function objectiveStatusSummary(objective: Objective): stat.PanelBuilder {
  const panel = codedStat(
    new stat.PanelBuilder()
      .title('Key result status')
      .description(
        `The status of each key result of "${objective.title}" (filtered by the key_result variable): ` +
          `${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')}. Coded ${STATUS_LEGEND}.`,
      )
      .datasource(datasourceRef())
      .withTarget(query('A', statusCodeQuery(selectedKrMatchers(objective)), '{{key_result}}')),
    { max: STATUSES.length - 1, mappings: statusMappings(), thresholds: statusThresholds(), textMode: common.BigValueTextMode.ValueAndName, horizontal: true },
  );
  return withKrTitles(panel, objective);
}

/** Progress of each key result chosen in the `key_result` variable. */
export function objectiveProgressBars(objective: Objective): bargauge.PanelBuilder {
  const panel = new bargauge.PanelBuilder()
    .title('Key result progress')
    .description(
      `Progress from baseline to target of each key result of "${objective.title}" (filtered by the key_result variable): ` +
        `${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')}.`,
    )
    .datasource(datasourceRef())
    .withTarget(query('A', selectedProgressQuery(objective), '{{key_result}}'))
    .unit('percentunit')
    .min(0)
    .max(1)
    .decimals(0)
    .thresholds(
      thresholds([
        { value: null, color: 'blue' },
        { value: 1, color: 'green' },
      ]),
    )
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true);
  return withKrTitles(panel, objective);
}

/**
 * How long ago the least recently evaluated key result was evaluated. A result older than three
 * evaluation intervals is reported as no_data (src/exporters/metrics.ts), hence the red step.
 * Always the last 15 minutes, whatever the dashboard's range: staleness is about now.
 */
export function objectiveFreshnessStat(objective: Objective, evaluateMs: number): stat.PanelBuilder {
  const interval = evaluateMs / 1000;
  return new stat.PanelBuilder()
    .title('Oldest evaluation')
    .description(
      `Seconds since the least recently evaluated key result of "${objective.title}" was evaluated ` +
        `(${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')}). ` +
        `Key results are evaluated every ${interval} s; yellow after two intervals, red after three (reported as no data).`,
    )
    .datasource(datasourceRef())
    .withTarget(query('A', oldestEvaluationAgeQuery(objective), 'Age', 'instant'))
    .timeFrom('15m')
    .unit('s')
    .decimals(0)
    .thresholds(
      thresholds([
        { value: null, color: 'green' },
        { value: 2 * interval, color: 'yellow' },
        { value: 3 * interval, color: 'red' },
      ]),
    )
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('not evaluated')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Value);
}

/**
 * The look of a 0-100% timeseries (progress against expected, objective progress): percent axis
 * pinned to 0..1, a dashed line at 100%, no points, a legend below, a shared tooltip.
 */
export function ratioTimeseriesStyle(panel: timeseries.PanelBuilder, lineWidth: number, sort: common.SortOrder): timeseries.PanelBuilder {
  return panel
    .unit('percentunit')
    .min(0)
    .max(1)
    .thresholds(
      thresholds([
        { value: null, color: 'transparent' },
        { value: 1, color: 'green' },
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(lineWidth)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(sort));
}

/**
 * A stat whose value is a code (status 0..4, severity) shown as a coloured word: integer, mapped
 * to text, coloured by thresholds as a background, the last value of the range.
 */
export function codedStat(
  panel: stat.PanelBuilder,
  o: { max: number; mappings: dashboard.ValueMapping[]; thresholds: dashboard.ThresholdsConfigBuilder; textMode: common.BigValueTextMode; horizontal?: boolean },
): stat.PanelBuilder {
  const p = panel
    .unit('none')
    .decimals(0)
    .min(0)
    .max(o.max)
    .mappings(o.mappings)
    .thresholds(o.thresholds)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('No data')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(o.textMode);
  return o.horizontal ? p.orientation(common.VizOrientation.Horizontal) : p;
}
