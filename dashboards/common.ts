// The presets every dashboard's panels are built from (as the grafana-foundation-sdk examples keep
// them in one `common` module): the data source, units, thresholds, queries, the last-value
// reduction, colours and line styles, the 0-100% timeseries look and the coded status stat.
// Panel options follow the SDK's types (node_modules/@grafana/grafana-foundation-sdk/dist/*/
// panelBuilder.gen.d.ts); the values shown are the series of src/exporters/metrics.ts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { UNITS } from '../src/metrics/catalogue/index.js';
import { STATUS_TEXT, STATUS_WORDS, STATUSES } from '../src/core/result.js';
import { STATUS_CODES } from './queries.js';

/** The `datasource` dashboard variable; every panel and query reads through it. */
export const DATASOURCE_VARIABLE = 'datasource';

export function datasourceRef(): common.DataSourceRef {
  return { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
}

/**
 * Grafana unit ids (grafana/packages/grafana-data/src/valueFormats/categories.ts) for kr.unit: the
 * catalogue's units (src/metrics/catalogue/units.ts), and the common words promql key results use.
 */
const GRAFANA_UNITS: Record<string, string> = {
  s: 's',
  milliseconds: 'ms',
  ms: 'ms',
  percent: 'percent',
  bytes: 'bytes',
  ...Object.fromEntries(Object.entries(UNITS).map(([name, u]) => [name, u.grafana])),
};

/** The Grafana unit for a key result's unit; a unit Grafana does not know is shown as a suffix. */
export function grafanaUnit(unit: string): string {
  return GRAFANA_UNITS[unit] ?? `suffix: ${unit}`;
}

/** 0.5 * (1 - 0.3) is 0.35000000000000003 in floating point; shown and compared as 0.35. */
export const tidy = (x: number): number => Number(x.toPrecision(12));

export function thresholds(steps: dashboard.Threshold[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
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

/** Status codes (src/core/result.ts STATUSES order) shown as their word in their colour (STATUS_TEXT). */
export function statusMappings(): dashboard.ValueMapping[] {
  const byCode: Record<string, dashboard.ValueMappingResult> = {};
  for (const [index, status] of STATUSES.entries()) {
    byCode[String(STATUS_CODES[status])] = { ...STATUS_TEXT[status], index };
  }
  return [
    { type: dashboard.MappingType.ValueToText, options: byCode },
    {
      type: dashboard.MappingType.SpecialValue,
      options: { match: dashboard.SpecialValueMatch.NullAndNan, result: { ...STATUS_TEXT.no_data, index: STATUSES.length } },
    },
  ];
}

/** The same colours as the mappings, by code, so the colour is right even where mappings are not applied. */
export function statusThresholds(): dashboard.ThresholdsConfigBuilder {
  return thresholds(
    STATUSES.map((status, i) => ({ value: i === 0 ? null : STATUS_CODES[status], color: STATUS_TEXT[status].color })),
  );
}

/** The codes in words, for panel descriptions: `0 on track, 1 at risk, ...`. */
export const STATUS_LEGEND = STATUSES.map((s) => `${STATUS_CODES[s]} ${STATUS_WORDS[s]}`).join(', ');

/** A coded status stat (one tile, or one per series when `horizontal`). */
export function statusStat(panel: stat.PanelBuilder, textMode: common.BigValueTextMode, horizontal?: boolean): stat.PanelBuilder {
  return codedStat(panel, { max: STATUSES.length - 1, mappings: statusMappings(), thresholds: statusThresholds(), textMode, ...(horizontal ? { horizontal } : {}) });
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
