// Breakdowns (METRICS.md "Breakdowns"): for a key result over several repositories (or PagerDuty
// services), a table of its value per repository and a time series of the worst ones, from
// okr_key_result_component_value. "Worst" follows the metric's better direction: the highest
// values when lower is better (topk), the lowest when higher is better (bottomk). The exporter
// keeps at most `breakdowns.max` components per key result; the time series shows fewer.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { KeyResult } from '../src/config/types.js';
import { breakdownParts } from '../src/engine/components.js';
import { metricOf, type MetricName } from '../src/metrics/catalogue/index.js';
import { datasourceRef, grafanaUnit, query } from './common.js';
import { krValueThresholds } from './kr-panels.js';
import { krMatchers, OBJECTIVE_VARIABLE, OWNER_VARIABLE, selectedBy } from './queries.js';

export const COMPONENT_SERIES = 'okr_key_result_component_value';
/** Series the "worst" time series shows at most. */
export const WORST_SHOWN = 5;

/** Whether lower values are worse for the metric (so the worst are the lowest). */
const lowerIsWorse = (metric: MetricName) => metricOf(metric).better === 'increase';

/** The label a component of the metric carries: `repository` or `service`. */
function componentLabel(kr: KeyResult): 'repository' | 'service' {
  return breakdownParts(kr)?.by ?? 'repository';
}

/** Whether a key result has components (several repositories or services). */
export function hasBreakdown(kr: KeyResult): boolean {
  return breakdownParts(kr) !== null;
}

const worstFirst = (metric: MetricName, expr: string) => `${lowerIsWorse(metric) ? 'sort' : 'sort_desc'}(${expr})`;
const worstK = (metric: MetricName, k: number, expr: string) => `${lowerIsWorse(metric) ? 'bottomk' : 'topk'}(${k}, ${expr})`;

/** The components of the chosen objectives' key results of one metric, with the key result's title. */
function metricComponents(metric: MetricName): string {
  const info = `${selectedBy(OBJECTIVE_VARIABLE)},${selectedBy(OWNER_VARIABLE)},metric=${JSON.stringify(metric)}`;
  return `${COMPONENT_SERIES}{${selectedBy(OBJECTIVE_VARIABLE)}} * on (objective, key_result) group_left (title) max by (objective, key_result, title) (okr_key_result_info{${info}})`;
}

function componentTable(title: string, description: string, expr: string, unit: string, metric: MetricName, columns: Record<string, string>, steps: dashboard.ThresholdsConfigBuilder): table.PanelBuilder {
  const order = Object.keys(columns);
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasourceRef())
    .withTarget(query('A', expr, '__auto', 'instant').format(prometheus.PromQueryFormat.Table))
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, ...(order.includes('objective') ? {} : { objective: true, key_result: true }), ...(order.includes('title') ? {} : { title: true }) },
        indexByName: Object.fromEntries([...order, 'Value'].map((c, i) => [c, i])),
        renameByName: { ...columns, Value: 'Value' },
      },
    })
    .unit(grafanaUnit(unit))
    .thresholds(steps)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .showHeader(true)
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Value').desc(!lowerIsWorse(metric))]);
}

function worstTimeseries(title: string, description: string, expr: string, legend: string, unit: string, steps: dashboard.ThresholdsConfigBuilder): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasourceRef())
    .withTarget(query('A', expr, legend))
    .unit(grafanaUnit(unit))
    .min(0)
    .thresholds(steps)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(2)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

const worstWords = (metric: MetricName) => (lowerIsWorse(metric) ? 'lowest first (higher is better)' : 'highest first (lower is better)');

/** One key result's value per repository (service), worst first. */
export function krComponentTable(kr: KeyResult): table.PanelBuilder {
  const label = componentLabel(kr);
  return componentTable(
    `${kr.title}: per ${label}`,
    `"${kr.title}" over each ${label} alone, with its other settings: which ${label} pulls it. Worst first: ${worstWords(kr.metric)}.`,
    worstFirst(kr.metric, `${COMPONENT_SERIES}{${krMatchers(kr)}}`),
    kr.unit,
    kr.metric,
    { [label]: label === 'repository' ? 'Repository' : 'Service' },
    krValueThresholds(kr).config,
  );
}

/** The worst repositories (services) of one key result over time. */
export function krComponentTimeseries(kr: KeyResult): timeseries.PanelBuilder {
  const label = componentLabel(kr);
  return worstTimeseries(
    `${kr.title}: worst ${label === 'repository' ? 'repositories' : 'services'} over time`,
    `"${kr.title}": the ${WORST_SHOWN} ${label === 'repository' ? 'repositories' : 'services'} with the worst value at each instant, ${worstWords(kr.metric)}.`,
    worstK(kr.metric, WORST_SHOWN, `${COMPONENT_SERIES}{${krMatchers(kr)}}`),
    `{{${label}}}`,
    kr.unit,
    krValueThresholds(kr).config,
  );
}

/** Every repository (service) of the key results of one DORA metric, worst first. */
/** `steps`: the DORA bands of the metric. */
export function metricComponentTable(metric: MetricName, krs: readonly KeyResult[], unit: string, steps: dashboard.ThresholdsConfigBuilder): table.PanelBuilder {
  const label = componentLabel(krs.find(hasBreakdown) ?? krs[0]!);
  return componentTable(
    `${metricOf(metric).title} per ${label}`,
    `Each ${label} of the key results that measure \`${metric}\` over several, the metric over that ${label} alone. Worst first: ${worstWords(metric)}.`,
    worstFirst(metric, metricComponents(metric)),
    unit,
    metric,
    { [label]: label === 'repository' ? 'Repository' : 'Service', title: 'Key result', objective: 'Objective', key_result: 'Id' },
    steps,
  );
}

/** The worst repositories (services) of one DORA metric over time. */
export function metricComponentTimeseries(metric: MetricName, krs: readonly KeyResult[], unit: string, steps: dashboard.ThresholdsConfigBuilder): timeseries.PanelBuilder {
  const label = componentLabel(krs.find(hasBreakdown) ?? krs[0]!);
  return worstTimeseries(
    `${metricOf(metric).title}: worst ${label === 'repository' ? 'repositories' : 'services'}`,
    `The ${WORST_SHOWN} worst ${label === 'repository' ? 'repositories' : 'services'} of the key results that measure \`${metric}\`, at each instant: ${worstWords(metric)}.`,
    worstK(metric, WORST_SHOWN, metricComponents(metric)),
    `{{${label}}} ({{objective}}/{{key_result}})`,
    unit,
    steps,
  );
}
