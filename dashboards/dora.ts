// `dora.json`: the key results that measure one of the four DORA metrics (deployment frequency,
// lead time for changes, change failure rate, time to restore), each against the DORA bands of
// dora-bands.ts. The series come from okr_key_result_value joined with
// okr_key_result_info{metric=...}; the repositories or services of each key result are in the config
// only, so the generator names each series after its key result and what it measures.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Config, KeyResult } from '../src/config/types.js';
import { metricOf } from '../src/metrics/catalogue/index.js';
import { labelVariable, liveBoard } from './board.js';
import { DORA_BAND_NAMES, DORA_BANDS, DORA_METRICS, isDoraMetric, type DoraBandName, type DoraMetric } from './dora-bands.js';
import { reworkAndStageSections } from './dora-rework-stages.js';
import { addSections, type Section } from './layout.js';
import { datasourceRef, fixedColor, grafanaUnit, lastValue, lineStyle, query, thresholds } from './common.js';
import { doraKrQuery, OBJECTIVE_VARIABLE, OWNER_VARIABLE } from './queries.js';
import { DORA_UID } from './uid.js';
import { hasBreakdown, metricComponentTable, metricComponentTimeseries } from './breakdowns.js';

export { DORA_UID } from './uid.js';
export const DORA_FILE = 'dora.json';

export const DORA_BAND_STYLE: Record<DoraBandName, { text: string; color: string }> = {
  elite: { text: 'Elite', color: 'purple' },
  high: { text: 'High', color: 'green' },
  medium: { text: 'Medium', color: 'yellow' },
  low: { text: 'Low', color: 'red' },
};

/** One DORA metric and the key results of the config that measure it. */
export interface DoraRow {
  metric: DoraMetric;
  keyResults: KeyResult[];
}

/** The DORA metrics some key result measures, in DORA_METRICS order. */
export function doraRows(config: Config): DoraRow[] {
  const krs = config.objectives.flatMap((o) => o.keyResults).filter((kr) => isDoraMetric(kr.metric));
  return DORA_METRICS.map((metric) => ({ metric, keyResults: krs.filter((kr) => kr.metric === metric) })).filter((r) => r.keyResults.length > 0);
}

/** Threshold steps that shade the four bands, worst to best for "higher is better" and best to worst otherwise. */
export function doraThresholds(metric: DoraMetric): dashboard.ThresholdsConfigBuilder {
  const { better, bounds } = DORA_BANDS[metric];
  const [eliteHigh, highMedium, mediumLow] = bounds;
  const color = (band: DoraBandName) => DORA_BAND_STYLE[band].color;
  return thresholds(
    better === 'higher'
      ? [
          { value: null, color: color('low') },
          { value: mediumLow, color: color('medium') },
          { value: highMedium, color: color('high') },
          { value: eliteHigh, color: color('elite') },
        ]
      : [
          { value: null, color: color('elite') },
          { value: eliteHigh, color: color('high') },
          { value: highMedium, color: color('medium') },
          { value: mediumLow, color: color('low') },
        ],
  );
}

/** What a key result measures: its repositories (GitHub metrics) or services (PagerDuty). */
export function krScope(kr: KeyResult): string {
  // A PagerDuty metric reads its services only; a GitHub one its repositories (and services, for incidents).
  const scope = metricOf(kr.metric).source === 'pagerduty' ? kr.services : [...kr.repos, ...kr.services];
  return scope.length === 0 ? kr.title : `${kr.title}: ${scope.join(', ')}`;
}

const seriesName = (kr: KeyResult) => `${kr.objectiveId}/${kr.id}`;

function bandsText(metric: DoraMetric): string {
  const b = DORA_BANDS[metric];
  return DORA_BAND_NAMES.map((band) => `${DORA_BAND_STYLE[band].text} (${DORA_BAND_STYLE[band].color}): ${b.bands[band]}`).join('; ');
}

function rowDescription(row: DoraRow): string {
  const krs = row.keyResults.map((kr) => `"${krScope(kr)}" (${seriesName(kr)})`).join(', ');
  return `DORA ${DORA_BANDS[row.metric].title.toLowerCase()} of the key results that measure \`${row.metric}\`: ${krs}. Bands: ${bandsText(row.metric)}.`;
}

/** Series are named `objective/key_result` by the query; shown with the key result and its repositories or services. */
function withScopeNames<B extends { overrideByName(name: string, properties: dashboard.DynamicConfigValue[]): B }>(builder: B, row: DoraRow, suffix = ''): B {
  return row.keyResults.reduce((b, kr) => b.overrideByName(`${seriesName(kr)}${suffix}`, [{ id: 'displayName', value: `${krScope(kr)}${suffix}` }]), builder);
}

/** The latest value of each key result, coloured by its DORA band. */
export function doraStat(row: DoraRow): stat.PanelBuilder {
  const b = DORA_BANDS[row.metric];
  const panel = new stat.PanelBuilder()
    .title(`${b.title} now`)
    .description(`${rowDescription(row)} The latest value, coloured by its band.`)
    .datasource(datasourceRef())
    .withTarget(query('A', doraKrQuery('okr_key_result_value', row.metric), '{{objective}}/{{key_result}}'))
    .unit(grafanaUnit(b.unit))
    .thresholds(doraThresholds(row.metric))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Horizontal);
  return withScopeNames(panel, row);
}

/** The values over time on a background shaded by the DORA bands, with each key result's target dashed. */
export function doraTimeseries(row: DoraRow): timeseries.PanelBuilder {
  const b = DORA_BANDS[row.metric];
  const panel = new timeseries.PanelBuilder()
    .title(`${b.title} over time`)
    .description(`${rowDescription(row)} The background shades the bands; dashed lines are the key results' targets.`)
    .datasource(datasourceRef())
    .withTarget(query('A', doraKrQuery('okr_key_result_value', row.metric), '{{objective}}/{{key_result}}'))
    .withTarget(query('B', doraKrQuery('okr_key_result_target', row.metric), '{{objective}}/{{key_result}} target'))
    .unit(grafanaUnit(b.unit))
    .min(0)
    .thresholds(doraThresholds(row.metric))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Area))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(2)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .overrideByQuery('B', [fixedColor('text'), lineStyle('dash', [10, 10]), { id: 'custom.lineWidth', value: 1 }]);
  return withScopeNames(withScopeNames(panel, row), row, ' target');
}

/** Shown instead of the rows when no key result measures a DORA metric. */
function noDoraPanel(): text.PanelBuilder {
  return new text.PanelBuilder()
    .title('No DORA key results')
    .description('Why this dashboard is empty.')
    .mode(text.TextMode.Markdown)
    .content(
      `No key result of the OKR file measures ${DORA_METRICS.map((m) => `\`${m}\``).join(', ')}. ` +
        'Add one, run `krt dashboards` again, and its panels appear here.',
    );
}

export function doraDashboard(config: Config): dashboard.DashboardBuilder {
  const rows = doraRows(config);
  const board = liveBoard({
    uid: DORA_UID,
    title: 'OKR: DORA metrics',
    description:
      'The key results that measure a DORA metric, against the Elite, High, Medium and Low bands of the DORA Quick Check ' +
      '(dora.dev) and, for change failure rate, the 2023 State of DevOps Report.',
    tags: ['okr', 'kr-tracker', 'dora'],
    timezone: config.timezone,
    from: 'now-90d',
    refresh: '5m',
    variables: [
      labelVariable({ name: OBJECTIVE_VARIABLE, label: 'Objective', description: 'The objectives whose key results are shown.', series: 'okr_objective_info' }),
      labelVariable({ name: OWNER_VARIABLE, label: 'Owner', description: 'Shows only the key results of these owners.', series: 'okr_objective_info' }),
    ],
  });
  // Rework rate and lead time by stage follow the four key metrics (dora-rework-stages.ts).
  const extra = reworkAndStageSections(config);
  const sections: Section[] =
    rows.length === 0 && extra.length === 0
      ? [{ title: 'DORA metrics', panels: [{ panel: noDoraPanel(), w: 24, h: 4 }] }]
      : [
          ...rows.map((row) => ({
            title: DORA_BANDS[row.metric].title,
            panels: [
              { panel: doraStat(row), w: 7, h: 8 },
              { panel: doraTimeseries(row), w: 17, h: 8 },
              // Key results over several repositories (services): the one that pulls the metric.
              ...(row.keyResults.some(hasBreakdown)
                ? [
                    { panel: metricComponentTable(row.metric, row.keyResults, DORA_BANDS[row.metric].unit, doraThresholds(row.metric)), w: 9, h: 8 },
                    { panel: metricComponentTimeseries(row.metric, row.keyResults, DORA_BANDS[row.metric].unit, doraThresholds(row.metric)), w: 15, h: 8 },
                  ]
                : []),
            ],
          })),
          ...extra,
        ];
  return addSections(board, sections);
}
