// The panels of one key result (its row on the objective dashboard): value, trajectory, progress
// and status, and what they say about it (summary, direction, value thresholds). Built from the
// presets in common.ts; positions and ids are given by layout.ts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { KeyResult, Period } from '../src/config/types.js';
import { metricOf } from '../src/metrics/catalogue/index.js';
import { resolveKind, resolveTarget } from '../src/engine/progress.js';
import { datasourceRef, fixedColor, grafanaUnit, lastValue, lineStyle, query, ratioTimeseriesStyle, STATUS_LEGEND, statusStat, thresholds, tidy } from './common.js';
import { krMatchers, krSeries, krTrajectoryQuery, statusCodeQuery } from './queries.js';

/**
 * Which way is better, for colours: the kind, else the sign of a relative target, else baseline ->
 * target as the engine infers it (src/engine/progress.ts resolveKind). With the baseline still to
 * be measured, the engine decides at run time; the metric's natural direction is the best guess here.
 */
export function krDirection(kr: KeyResult): 'up' | 'down' | null {
  if (kr.kind === null && kr.target.type === 'relative' && kr.target.ratio !== 0) return kr.target.ratio > 0 ? 'up' : 'down';
  const kind = resolveKind(kr.kind, kr.baseline, resolveTarget(kr.target, kr.baseline));
  if (kind === null) {
    // The metric's natural direction (the catalogue's `better`); PromQL can be anything.
    const better = metricOf(kr.metric).better;
    return better === null ? null : better === 'increase' ? 'up' : 'down';
  }
  return kind === 'increase' || kind === 'maintain_above' ? 'up' : 'down';
}

const isMaintain = (kr: KeyResult) => kr.kind === 'maintain_above' || kr.kind === 'maintain_below';

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
    metricOf(kr.metric).source === 'prometheus' ? `PromQL \`${kr.query ?? ''}\`` : `\`${kr.metric}\` over a ${formatWindow(kr.windowMs)} window`;
  const direction = krDirection(kr);
  const better = direction === null ? '' : direction === 'up' ? ' Higher is better.' : ' Lower is better.';
  const baseline = kr.baseline === null ? 'measured at the period start' : `${kr.baseline} ${unitWord(kr.unit)}`;
  return `Key result "${kr.title}" (\`${kr.id}\`): ${measured}. Target ${targetText(kr)}; baseline ${baseline}.${better}`;
}

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
  return statusStat(
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
    common.BigValueTextMode.Value,
  );
}
