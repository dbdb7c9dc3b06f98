// `source-health.json`: how the syncs of each source stream (GitHub deployments of a repository,
// PagerDuty incidents of a service, ...) are doing, from the krt_source_* series of
// src/exporters/metrics.ts.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Config } from '../src/config/types.js';
import { planStreams } from '../src/sync/plan.js';
import { labelVariable, liveBoard } from './board.js';
import { addSections } from './layout.js';
import { datasourceRef, lastValue, query, thresholds } from './common.js';
import {
  lastSuccessAgeQuery,
  notModifiedRatioQuery,
  SOURCE_VARIABLE,
  sourceRateQuery,
  sourceSeries,
} from './queries.js';
import { SOURCE_HEALTH_UID } from './uid.js';

export { SOURCE_HEALTH_UID } from './uid.js';
export const SOURCE_HEALTH_FILE = 'source-health.json';

const STREAM_LEGEND = '{{source}} {{stream}} {{key}}';

/**
 * GitHub's primary rate limit is 5,000 requests an hour for a token
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api): yellow below a
 * tenth of it, red below 100, when a sync may stop for the window's reset.
 */
const RATE_LIMIT_LOW = 500;
const RATE_LIMIT_EXHAUSTED = 100;

/** A panel of one series per stream of the chosen sources. */
export interface StreamPanel {
  title: string;
  description: string;
  expr: string;
  unit: string;
  steps: dashboard.Threshold[];
}

function streamsText(config: Config): string {
  const streams = planStreams(config);
  return `The OKR file syncs ${streams.length} streams: ${streams.map((s) => `${s.source} ${s.stream} ${s.key}`).join(', ')}.`;
}

function streamStat(p: StreamPanel): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(datasourceRef())
    .withTarget(query('A', p.expr, STREAM_LEGEND))
    .unit(p.unit)
    .thresholds(thresholds(p.steps))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('no data')
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .orientation(common.VizOrientation.Horizontal);
}

function streamTimeseries(p: StreamPanel): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(datasourceRef())
    .withTarget(query('A', p.expr, STREAM_LEGEND))
    .unit(p.unit)
    .min(0)
    .thresholds(thresholds(p.steps))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .lineWidth(1)
    .fillOpacity(0)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

/** Up (1) or down (0) per stream, as words. */
export function syncUpStat(config: Config): stat.PanelBuilder {
  return streamStat({
    title: 'Sync up',
    description: `Whether the last sync of each stream succeeded (\`krt_source_sync_up\`). ${streamsText(config)}`,
    expr: sourceSeries('krt_source_sync_up'),
    unit: 'none',
    steps: [
      { value: null, color: 'red' },
      { value: 1, color: 'green' },
    ],
  }).mappings([
    {
      type: dashboard.MappingType.ValueToText,
      options: { '0': { text: 'Down', color: 'red', index: 0 }, '1': { text: 'Up', color: 'green', index: 1 } },
    },
  ]);
}

export function lastSuccessStat(config: Config): stat.PanelBuilder {
  const interval = config.schedule.syncMs / 1000;
  return streamStat({
    title: 'Last successful sync',
    description:
      `How long ago each stream last synced successfully. Streams sync every ${interval} s; ` +
      'yellow after two intervals, red after three. A stream that never succeeded has no value.',
    expr: lastSuccessAgeQuery(),
    unit: 's',
    steps: [
      { value: null, color: 'green' },
      { value: 2 * interval, color: 'yellow' },
      { value: 3 * interval, color: 'red' },
    ],
  }).decimals(0);
}

const rateLimitSteps: dashboard.Threshold[] = [
  { value: null, color: 'red' },
  { value: RATE_LIMIT_EXHAUSTED, color: 'yellow' },
  { value: RATE_LIMIT_LOW, color: 'green' },
];
const rateLimitText =
  `Requests left in the source's rate-limit window, as its last response reported (\`krt_source_rate_limit_remaining\`; ` +
  `sources that report none have no value). Red below ${RATE_LIMIT_EXHAUSTED}, yellow below ${RATE_LIMIT_LOW}.`;

export function rateLimitBars(): bargauge.PanelBuilder {
  return new bargauge.PanelBuilder()
    .title('Rate limit remaining')
    .description(rateLimitText)
    .datasource(datasourceRef())
    .withTarget(query('A', sourceSeries('krt_source_rate_limit_remaining'), STREAM_LEGEND))
    .unit('short')
    .min(0)
    .decimals(0)
    .thresholds(thresholds(rateLimitSteps))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .noValue('not reported')
    .reduceOptions(lastValue())
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true);
}

export function eventsStoredStat(): stat.PanelBuilder {
  return streamStat({
    title: 'Events stored',
    description: 'Events each stream has written to the store since the store was created (`krt_source_events_stored_total`).',
    expr: sourceSeries('krt_source_events_stored_total'),
    unit: 'short',
    steps: [{ value: null, color: 'blue' }],
  }).decimals(0);
}

export function syncDurationTimeseries(config: Config): timeseries.PanelBuilder {
  const interval = config.schedule.syncMs / 1000;
  return streamTimeseries({
    title: 'Sync duration',
    description:
      `Duration of the last sync attempt of each stream (\`krt_source_last_sync_duration_seconds\`). Streams sync every ${interval} s: ` +
      'the dashed lines are half an interval and a whole one, when a sync would run into the next.',
    expr: sourceSeries('krt_source_last_sync_duration_seconds'),
    unit: 's',
    steps: [
      { value: null, color: 'green' },
      { value: interval / 2, color: 'yellow' },
      { value: interval, color: 'red' },
    ],
  });
}

export function syncFailuresTimeseries(): timeseries.PanelBuilder {
  return streamTimeseries({
    title: 'Sync failures',
    description: 'Failed syncs per hour of each stream (`krt_source_sync_failures_total`); any is red.',
    expr: sourceRateQuery('krt_source_sync_failures_total', 3600),
    unit: 'suffix: /h',
    steps: [
      { value: null, color: 'green' },
      { value: 0.001, color: 'red' },
    ],
  });
}

export function requestsTimeseries(): timeseries.PanelBuilder {
  return streamTimeseries({
    title: 'Requests',
    description: 'HTTP requests per minute that the syncs of each stream make to its source (`krt_source_requests_total`).',
    expr: sourceRateQuery('krt_source_requests_total', 60),
    unit: 'reqpm',
    steps: [{ value: null, color: 'blue' }],
  });
}

export function notModifiedTimeseries(): timeseries.PanelBuilder {
  return streamTimeseries({
    title: '304 Not Modified ratio',
    description:
      'Share of each stream\'s requests answered 304 Not Modified to a conditional request (ETag): unchanged pages, ' +
      'which GitHub does not count against the rate limit. Low while a stream has new data; no value while it makes no requests.',
    expr: notModifiedRatioQuery(),
    unit: 'percentunit',
    steps: [{ value: null, color: 'blue' }],
  }).max(1);
}

export function eventsTimeseries(): timeseries.PanelBuilder {
  return streamTimeseries({
    title: 'Events stored per minute',
    description: 'Events per minute that the syncs of each stream write to the store (`krt_source_events_stored_total`).',
    expr: sourceRateQuery('krt_source_events_stored_total', 60),
    unit: 'epm',
    steps: [{ value: null, color: 'blue' }],
  });
}

export function rateLimitTimeseries(): timeseries.PanelBuilder {
  return streamTimeseries({
    title: 'Rate limit remaining over time',
    description: rateLimitText,
    expr: sourceSeries('krt_source_rate_limit_remaining'),
    unit: 'short',
    steps: rateLimitSteps,
  });
}

export function sourceHealthDashboard(config: Config): dashboard.DashboardBuilder {
  const board = liveBoard({
    uid: SOURCE_HEALTH_UID,
    title: 'kr-tracker: source health',
    description: 'Syncs of each source stream: up, last success, duration, failures, requests, 304s, rate limit and events stored.',
    tags: ['kr-tracker', 'source-health'],
    timezone: config.timezone,
    from: 'now-6h',
    refresh: '1m',
    variables: [labelVariable({ name: SOURCE_VARIABLE, label: 'Source', description: 'The sources shown (github, pagerduty, ...).', series: 'krt_source_sync_up' })],
  });
  return addSections(board, [
    {
      title: 'Now',
      panels: [
        { panel: syncUpStat(config), w: 6, h: 9 },
        { panel: lastSuccessStat(config), w: 6, h: 9 },
        { panel: rateLimitBars(), w: 6, h: 9 },
        { panel: eventsStoredStat(), w: 6, h: 9 },
      ],
    },
    {
      title: 'Over time',
      panels: [
        { panel: syncDurationTimeseries(config), w: 12, h: 8 },
        { panel: syncFailuresTimeseries(), w: 12, h: 8 },
        { panel: requestsTimeseries(), w: 12, h: 8 },
        { panel: notModifiedTimeseries(), w: 12, h: 8 },
        { panel: eventsTimeseries(), w: 12, h: 8 },
        { panel: rateLimitTimeseries(), w: 12, h: 8 },
      ],
    },
  ]);
}
