// The panels of one objective (the top row of its dashboard): progress gauge, status of each key
// result, progress bars and evaluation freshness. Built from the presets in common.ts; positions
// and ids are given by layout.ts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import type { Objective } from '../src/config/types.js';
import { datasourceRef, lastValue, query, STATUS_LEGEND, statusStat, thresholds } from './common.js';
import { objectiveProgressQuery, oldestEvaluationAgeQuery, selectedKrMatchers, selectedProgressQuery, statusCodeQuery } from './queries.js';

/** Series named by key result id (`{{key_result}}`) are shown with the key result's title. */
function withKrTitles<B extends { overrideByName(name: string, properties: dashboard.DynamicConfigValue[]): B }>(
  builder: B,
  objective: Objective,
): B {
  return objective.keyResults.reduce((b, kr) => b.overrideByName(kr.id, [{ id: 'displayName', value: kr.title }]), builder);
}

/** `children`: the objectives whose parent it is; their progress rolls up into its own (docs/aligned-objectives.md). */
export function objectiveProgressGauge(objective: Objective, children: readonly Objective[] = []): gauge.PanelBuilder {
  const rollup = children.length
    ? ` and, rolled up, of the objectives aligned to it that have one, each counting its weight (${children.map((c) => `"${c.title}"`).join(', ')})`
    : '';
  return new gauge.PanelBuilder()
    .title('Objective progress')
    .description(
      `Progress of the objective "${objective.title}": the weighted mean progress of its key results that have one ` +
        `(${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')})${rollup}.`,
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
  const panel = statusStat(
    new stat.PanelBuilder()
      .title('Key result status')
      .description(
        `The status of each key result of "${objective.title}" (filtered by the key_result variable): ` +
          `${objective.keyResults.map((kr) => `"${kr.title}"`).join(', ')}. Coded ${STATUS_LEGEND}.`,
      )
      .datasource(datasourceRef())
      .withTarget(query('A', statusCodeQuery(selectedKrMatchers(objective)), '{{key_result}}')),
    common.BigValueTextMode.ValueAndName,
    true,
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
