// `overview.json`: every objective with its progress and status, and every key result, most
// urgent first, filtered by the objective and owner variables.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Config } from '../src/config/types.js';
import { objectiveTree } from '../src/engine/objective-progress.js';
import { STATUS_TEXT, STATUS_WORDS, STATUSES, type Status } from '../src/core/result.js';
import { labelVariable, liveBoard } from './board.js';
import { addSections } from './layout.js';
import { codedStat, datasourceRef, fixedColor, lastValue, query, ratioTimeseriesStyle, thresholds } from './common.js';
import {
  krSeverityTableQuery,
  krTableQuery,
  objectivesProgressQuery,
  objectivesSeverityQuery,
  objectiveTreeOrderQuery,
  OBJECTIVE_VARIABLE,
  OWNER_VARIABLE,
  SEVERITY,
  statusCountQuery,
} from './queries.js';
import { OVERVIEW_UID } from './uid.js';

export { OVERVIEW_UID } from './uid.js';
export const OVERVIEW_FILE = 'overview.json';

/** Statuses from the most urgent down, as SEVERITY orders them. */
const BY_SEVERITY: Status[] = [...STATUSES].sort((a, b) => SEVERITY[b] - SEVERITY[a]);
const SEVERITY_LEGEND = BY_SEVERITY.map((s) => `${SEVERITY[s]} ${STATUS_WORDS[s]}`).join(', ');

function severityMappings(): dashboard.ValueMapping[] {
  const byCode: Record<string, dashboard.ValueMappingResult> = {};
  for (const [index, status] of BY_SEVERITY.entries()) byCode[String(SEVERITY[status])] = { ...STATUS_TEXT[status], index };
  return [{ type: dashboard.MappingType.ValueToText, options: byCode }];
}

/** The status colours by severity code, so a cell or tile is coloured even where mappings are not applied. */
function severityThresholds(): dashboard.ThresholdsConfigBuilder {
  const ascending = [...BY_SEVERITY].reverse();
  return thresholds(ascending.map((s, i) => ({ value: i === 0 ? null : SEVERITY[s], color: STATUS_TEXT[s].color })));
}

function progressThresholds(): dashboard.ThresholdsConfigBuilder {
  return thresholds([
    { value: null, color: 'blue' },
    { value: 1, color: 'green' },
  ]);
}

const objectiveList = (config: Config) => config.objectives.map((o) => `"${o.title}" (${o.owner})`).join(', ');

export function objectivesProgressBars(config: Config): bargauge.PanelBuilder {
  return new bargauge.PanelBuilder()
    .title('Objective progress')
    .description(
      `Progress of each objective chosen in the objective and owner variables: the weighted mean progress of its key results ` +
        `that have one (\`okr_objective_progress_ratio\`)` +
        (config.objectives.some((o) => o.parent !== null) ? ', for an objective with children rolled up with their progress, each child counting its weight' : '') +
        `. Objectives: ${objectiveList(config)}.`,
    )
    .datasource(datasourceRef())
    .withTarget(query('A', objectivesProgressQuery(), '{{title}}'))
    .unit('percentunit')
    .min(0)
    .max(1)
    .decimals(0)
    .thresholds(progressThresholds())
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true);
}

export function objectivesStatusStat(config: Config): stat.PanelBuilder {
  return codedStat(
    new stat.PanelBuilder()
      .title('Objective status')
      .description(
        `The status of each chosen objective: that of its most urgent key result (coded ${SEVERITY_LEGEND}). ` +
          `Objectives: ${objectiveList(config)}.`,
      )
      .datasource(datasourceRef())
      .withTarget(query('A', objectivesSeverityQuery(), '{{title}}')),
    { max: Math.max(...Object.values(SEVERITY)), mappings: severityMappings(), thresholds: severityThresholds(), textMode: common.BigValueTextMode.ValueAndName, horizontal: true },
  );
}

/** How many key results are in each status, one coloured tile per status. */
export function statusCountStat(): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title('Key results by status')
    .description('How many key results of the chosen objectives are in each status now (`okr_key_result_status`).')
    .datasource(datasourceRef())
    .withTarget(query('A', statusCountQuery(), '{{status}}'))
    .unit('short')
    .decimals(0)
    .min(0)
    .thresholds(thresholds([{ value: null, color: 'text' }]))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('0')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Horizontal);
  return BY_SEVERITY.reduce(
    (p, s) => p.overrideByName(s, [{ id: 'displayName', value: STATUS_TEXT[s].text }, fixedColor(STATUS_TEXT[s].color)]),
    panel,
  );
}

export function objectivesProgressTimeseries(): timeseries.PanelBuilder {
  return ratioTimeseriesStyle(
    new timeseries.PanelBuilder()
      .title('Objective progress over time')
      .description('Progress of each chosen objective over the time range (`okr_objective_progress_ratio`); the dashed line is 100%.')
      .datasource(datasourceRef())
      .withTarget(query('A', objectivesProgressQuery(), '{{title}}')),
    2,
    common.SortOrder.Descending,
  );
}

/** An instant query in table format: one row per series, labels as columns. */
function tableQuery(refId: string, expr: string): prometheus.DataqueryBuilder {
  return query(refId, expr, '__auto', 'instant').format(prometheus.PromQueryFormat.Table);
}

// Grafana names the value column of query X `Value #X` in a table with several queries; the
// organize transformation renames the columns, and overrides and sorting use the new names. Cells
// are left to Grafana's default (auto) except where overridden: the JSON Schema's oneOf of cell
// options matches `{ type: "auto" }` more than once, so a default set here would not validate.
const COLUMNS = {
  status: 'Status',
  title: 'Key result',
  objective: 'Objective',
  key_result: 'Id',
  owner: 'Owner',
  metric: 'Metric',
  progress: 'Progress',
  expected: 'Expected by now',
} as const;

/** Every key result of the chosen objectives, off track and at risk first. */
export function krTable(config: Config): table.PanelBuilder {
  const count = config.objectives.reduce((n, o) => n + o.keyResults.length, 0);
  return new table.PanelBuilder()
    .title('Key results, most urgent first')
    .description(
      `The ${count} key results of the chosen objectives, sorted by status: ${BY_SEVERITY.map((s) => STATUS_WORDS[s]).join(', ')}. ` +
        'Progress: from baseline to target; expected by now: where the straight trajectory is today. ' +
        'The gap between them sets the status.',
    )
    .datasource(datasourceRef())
    .withTarget(tableQuery('A', krSeverityTableQuery()))
    .withTarget(tableQuery('B', krTableQuery('okr_key_result_progress_ratio')))
    .withTarget(tableQuery('C', krTableQuery('okr_key_result_expected_progress_ratio')))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: { 'Value #A': 0, title: 1, objective: 2, key_result: 3, owner: 4, metric: 5, 'Value #B': 6, 'Value #C': 7 },
        renameByName: {
          'Value #A': COLUMNS.status,
          title: COLUMNS.title,
          objective: COLUMNS.objective,
          key_result: COLUMNS.key_result,
          owner: COLUMNS.owner,
          metric: COLUMNS.metric,
          'Value #B': COLUMNS.progress,
          'Value #C': COLUMNS.expected,
        },
      },
    })
    .unit('percentunit')
    .min(0)
    .max(1)
    .decimals(0)
    .thresholds(progressThresholds())
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .showHeader(true)
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(COLUMNS.status).desc(true)])
    .overrideByName(COLUMNS.status, [
      { id: 'unit', value: 'none' },
      { id: 'min', value: 0 },
      { id: 'max', value: Math.max(...Object.values(SEVERITY)) },
      { id: 'mappings', value: severityMappings() },
      { id: 'thresholds', value: severityThresholds().build() },
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorBackground, mode: common.TableCellBackgroundDisplayMode.Basic } },
      { id: 'custom.width', value: 110 },
    ])
    .overrideByName(COLUMNS.progress, [
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.Gauge, mode: common.BarGaugeDisplayMode.Basic } },
    ]);
}

const TREE_COLUMNS = { order: '#', objective: 'Objective', owner: 'Owner', progress: 'Progress' } as const;

/**
 * The objectives as their alignment tree (`parent:` links): one row each, every objective under
 * its parent and indented by its depth, with its progress, which for a parent is rolled up from
 * its own key results and its children (weights; docs/aligned-objectives.md).
 */
export function objectiveTreeTable(config: Config): table.PanelBuilder {
  const tree = objectiveTree(config.objectives);
  // Grafana collapses leading spaces in a cell: indent with no-break spaces.
  const indent = (depth: number) => (depth === 0 ? '' : `${'\u00a0'.repeat(4 * (depth - 1))}\u00a0\u00a0└\u00a0`);
  const names: Record<string, dashboard.ValueMappingResult> = {};
  for (const [index, { objective, depth }] of tree.entries()) names[objective.id] = { text: `${indent(depth)}${objective.title}`, index };
  const parents = config.objectives.filter((o) => o.parent !== null).length;
  return new table.PanelBuilder()
    .title('Objectives by alignment')
    .description(
      `Every chosen objective under the objective it aligns to (parent), indented by depth` +
        (parents ? ` (${parents} of ${config.objectives.length} have a parent)` : ' (none has a parent yet)') +
        `. Progress (\`okr_objective_progress_ratio\`): for an objective with children, the weighted mean over its own key results ` +
        `and its children that have data, each child counting its weight (default 1); otherwise that of its key results.`,
    )
    .datasource(datasourceRef())
    .withTarget(tableQuery('A', objectiveTreeOrderQuery(tree.map(({ objective }) => objective.id))))
    .withTarget(tableQuery('B', objectivesProgressQuery()))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, title: true },
        indexByName: { 'Value #A': 0, objective: 1, owner: 2, 'Value #B': 3 },
        renameByName: { 'Value #A': TREE_COLUMNS.order, objective: TREE_COLUMNS.objective, owner: TREE_COLUMNS.owner, 'Value #B': TREE_COLUMNS.progress },
      },
    })
    .unit('percentunit')
    .min(0)
    .max(1)
    .decimals(0)
    .thresholds(progressThresholds())
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .showHeader(true)
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(TREE_COLUMNS.order).desc(false)])
    .overrideByName(TREE_COLUMNS.order, [
      { id: 'unit', value: 'none' },
      { id: 'decimals', value: 0 },
      { id: 'custom.width', value: 50 },
    ])
    .overrideByName(TREE_COLUMNS.objective, [{ id: 'mappings', value: [{ type: dashboard.MappingType.ValueToText, options: names }] }])
    .overrideByName(TREE_COLUMNS.progress, [
      { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.Gauge, mode: common.BarGaugeDisplayMode.Basic } },
    ]);
}

export function overviewDashboard(config: Config): dashboard.DashboardBuilder {
  const count = config.objectives.reduce((n, o) => n + o.keyResults.length, 0);
  const board = liveBoard({
    uid: OVERVIEW_UID,
    title: 'OKR overview',
    description: `All ${config.objectives.length} objectives and ${count} key results: progress and status, the most urgent key results first.`,
    tags: ['okr', 'kr-tracker'],
    timezone: config.timezone,
    from: 'now-30d',
    refresh: '1m',
    variables: [
      labelVariable({
        name: OBJECTIVE_VARIABLE,
        label: 'Objective',
        description: 'The objectives shown.',
        series: 'okr_objective_info',
      }),
      labelVariable({
        name: OWNER_VARIABLE,
        label: 'Owner',
        description: 'Shows only the objectives of these owners.',
        series: 'okr_objective_info',
      }),
    ],
  });
  return addSections(board, [
    {
      title: 'Objectives',
      panels: [
        { panel: objectivesProgressBars(config), w: 10, h: 8 },
        { panel: objectivesStatusStat(config), w: 7, h: 8 },
        { panel: statusCountStat(), w: 7, h: 8 },
        { panel: objectivesProgressTimeseries(), w: 24, h: 8 },
        { panel: objectiveTreeTable(config), w: 24, h: Math.min(20, Math.max(6, config.objectives.length + 3)) },
      ],
    },
    {
      title: 'Key results',
      panels: [{ panel: krTable(config), w: 24, h: Math.min(24, Math.max(8, count + 3)) }],
    },
  ]);
}
