// The DORA dashboard's rows beyond the four key metrics (dora.ts): deployment rework rate (DORA's
// fifth metric, 2024) and lead time by stage (the `pr_cycle_time` key results: coding, review,
// deploy, total). DORA publishes no bands for either, so nothing is shaded: the values are drawn
// against each key result's target. Series come from okr_key_result_value joined with
// okr_key_result_info{metric=...}; a key result's stage is in the config only, so the generator
// names each series after its stage and title.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Config, KeyResult } from '../src/config/types.js';
import type { MetricName } from '../src/metrics/catalogue/index.js';
import { stageOf } from '../src/metrics/catalogue/pr-cycle-time.js';
import { PR_STAGES } from '../src/metrics/pr-cycle-time.js';
import type { Section } from './layout.js';
import { datasourceRef, fixedColor, lastValue, lineStyle, query } from './common.js';
import { doraKrQuery } from './queries.js';

const STAGE_WORDS: Record<(typeof PR_STAGES)[number], string> = {
  coding: 'Coding (first commit to PR opened)',
  review: 'Review (PR opened to merged)',
  deploy: 'Deploy (merged to production)',
  total: 'Total (first commit to production)',
};

const seriesName = (kr: KeyResult) => `${kr.objectiveId}/${kr.id}`;
const stageName = (kr: KeyResult) => `${STAGE_WORDS[stageOf(kr)].split(' (')[0]}: ${kr.title}`;
const reworkName = (kr: KeyResult) => `${kr.title}: ${[...kr.repos, ...kr.services].join(', ')}`;

function named<B extends { overrideByName(name: string, properties: dashboard.DynamicConfigValue[]): B }>(builder: B, krs: readonly KeyResult[], name: (kr: KeyResult) => string, suffix = ''): B {
  return krs.reduce((b, kr) => b.overrideByName(`${seriesName(kr)}${suffix}`, [{ id: 'displayName', value: `${name(kr)}${suffix}` }]), builder);
}

function overTime(title: string, description: string, metric: MetricName, unit: string, krs: readonly KeyResult[], name: (kr: KeyResult) => string): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasourceRef())
    .withTarget(query('A', doraKrQuery('okr_key_result_value', metric), '{{objective}}/{{key_result}}'))
    .withTarget(query('B', doraKrQuery('okr_key_result_target', metric), '{{objective}}/{{key_result}} target'))
    .unit(unit)
    .min(0)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(2)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .overrideByQuery('B', [fixedColor('text'), lineStyle('dash', [10, 10]), { id: 'custom.lineWidth', value: 1 }]);
  return named(named(panel, krs, name), krs, name, ' target');
}

/** Deployment rework rate: the latest value of each key result, and its values over time. */
function reworkSection(krs: readonly KeyResult[]): Section {
  const list = krs.map((kr) => `"${reworkName(kr)}" (${seriesName(kr)})`).join(', ');
  const what =
    `Deployment rework rate (DORA 2024) of the key results that measure \`deployment_rework_rate\`: ${list}. ` +
    'The share of successful deployments that were rollbacks or were made while an incident of the key result\'s services was open.';
  const now = new stat.PanelBuilder()
    .title('Deployment rework rate now')
    .description(`${what} The latest value.`)
    .datasource(datasourceRef())
    .withTarget(query('A', doraKrQuery('okr_key_result_value', 'deployment_rework_rate'), '{{objective}}/{{key_result}}'))
    .unit('percentunit')
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Fixed).fixedColor('blue'))
    .noValue('no data')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Horizontal);
  return {
    title: 'Deployment rework rate',
    panels: [
      { panel: named(now, krs, reworkName), w: 7, h: 8 },
      { panel: overTime('Deployment rework rate over time', `${what} Dashed lines are the key results' targets.`, 'deployment_rework_rate', 'percentunit', krs, reworkName), w: 17, h: 8 },
    ],
  };
}

/** Lead time by stage: one bar per pr_cycle_time key result (stage order), and the values over time. */
function stagesSection(krs: readonly KeyResult[]): Section {
  const ordered = [...krs].sort((a, b) => PR_STAGES.indexOf(stageOf(a)) - PR_STAGES.indexOf(stageOf(b)));
  const stages = PR_STAGES.filter((s) => ordered.some((kr) => stageOf(kr) === s)).map((s) => STAGE_WORDS[s]);
  const list = ordered.map((kr) => `"${stageName(kr)}" (${seriesName(kr)})`).join(', ');
  const what =
    `Where lead time goes, from the key results that measure \`pr_cycle_time\`: ${list}. Stages: ${stages.join('; ')}. ` +
    'The first commit is the earliest author date among the pull request\'s own commits, so squash and rebase merges keep it.';
  const bars = new bargauge.PanelBuilder()
    .title('Lead time by stage now')
    .description(`${what} The latest value of each.`)
    .datasource(datasourceRef())
    .withTarget(query('A', doraKrQuery('okr_key_result_value', 'pr_cycle_time'), '{{objective}}/{{key_result}}'))
    .unit('s')
    .min(0)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .noValue('no data')
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true);
  return {
    title: 'Lead time by stage',
    panels: [
      { panel: named(bars, ordered, stageName), w: 9, h: 8 },
      { panel: overTime('Lead time by stage over time', `${what} Dashed lines are the key results' targets.`, 'pr_cycle_time', 's', ordered, stageName), w: 15, h: 8 },
    ],
  };
}

/** The rework and stage rows for the key results of the config that measure them (none: no row). */
export function reworkAndStageSections(config: Config): Section[] {
  const krs = config.objectives.flatMap((o) => o.keyResults);
  const rework = krs.filter((kr) => kr.metric === 'deployment_rework_rate');
  const stages = krs.filter((kr) => kr.metric === 'pr_cycle_time');
  return [...(rework.length > 0 ? [reworkSection(rework)] : []), ...(stages.length > 0 ? [stagesSection(stages)] : [])];
}
