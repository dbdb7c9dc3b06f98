// The DORA performance bands (Elite, High, Medium, Low) of the four key metrics, in kr-tracker's
// units, for shading the DORA dashboard. The numbers are copied here because users do not have the
// data set they come from.
//
// Deployment frequency, lead time for changes and time to restore: the answer scale of DORA's
// Quick Check, `metrics_question_responses.json` of the data set "dora-quickcheck-benchmarks"
// (dora-team/dora.dev, svelte/quick-check/src/lib/data/, commit fcaf07b49791e8a16e39b85dbf92610520bf80b6;
// Apache-2.0, "DORA / Google, dora.dev"). Its six answers per metric use the boundaries the State of
// DevOps reports use to describe their clusters (Elite: deploys "On demand (multiple deploys per
// day)", lead time "Less than one day", restore "Less than one hour"); which answers form which band
// is that grouping. A month is taken as 30 days.
//
// Change failure rate: the data set has no bands for it, only its score scale (0 % -> 10,
// 50 % -> 5, 100 % -> 0). The bounds below are the 2023 Accelerate State of DevOps Report's cluster
// values (Elite 5 %, High 10 %, Medium 15 %, Low 64 %) read as upper bounds, as Apache DevLake's
// DORA dashboard reads them (its docs/Metrics/CFR.md: 0-5 %, 5-10 %, 10-15 %, > 15 %).
//
// A value exactly on a bound takes the band above the bound in value (Grafana applies a threshold
// step from its value upwards): one deploy a day is Elite, a lead time of exactly one day is High.
import type { MetricName } from '../src/metrics/catalogue/index.js';

export const DORA_BAND_NAMES = ['elite', 'high', 'medium', 'low'] as const;
export type DoraBandName = (typeof DORA_BAND_NAMES)[number];

export const DORA_METRICS = ['deployment_frequency', 'lead_time_for_changes', 'change_failure_rate', 'time_to_restore'] as const satisfies readonly MetricName[];
export type DoraMetric = (typeof DORA_METRICS)[number];

export interface DoraMetricBands {
  title: string;
  /** kr-tracker's unit of the metric (the catalogue's `unit`, src/metrics/catalogue). */
  unit: 'per_day' | 'seconds' | 'ratio';
  better: 'higher' | 'lower';
  /** The bounds between Elite|High, High|Medium and Medium|Low, in `unit`. */
  bounds: readonly [number, number, number];
  /** What each band covers, in the words of the source. */
  bands: Record<DoraBandName, string>;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;

export const DORA_BANDS: Record<DoraMetric, DoraMetricBands> = {
  deployment_frequency: {
    title: 'Deployment frequency',
    unit: 'per_day',
    better: 'higher',
    bounds: [1, 1 / 7, 1 / 30],
    bands: {
      elite: 'On demand (multiple deploys per day); between once per hour and once per day',
      high: 'Between once per day and once per week',
      medium: 'Between once per week and once per month',
      low: 'Between once per month and once every six months; less than once per six months',
    },
  },
  lead_time_for_changes: {
    title: 'Lead time for changes',
    unit: 'seconds',
    better: 'lower',
    bounds: [DAY, WEEK, MONTH],
    bands: {
      elite: 'Less than one hour; less than one day',
      high: 'One day to one week',
      medium: 'One week to one month',
      low: 'One to six months; more than six months',
    },
  },
  change_failure_rate: {
    title: 'Change failure rate',
    unit: 'ratio',
    better: 'lower',
    bounds: [0.05, 0.1, 0.15],
    bands: {
      elite: 'Below 5%',
      high: '5% to 10%',
      medium: '10% to 15%',
      low: '15% and more',
    },
  },
  time_to_restore: {
    title: 'Time to restore service',
    unit: 'seconds',
    better: 'lower',
    bounds: [HOUR, DAY, WEEK],
    bands: {
      elite: 'Less than one hour',
      high: 'Less than one day',
      medium: 'One day to one week',
      low: 'One week to one month; one to six months; more than six months',
    },
  },
};

export function isDoraMetric(metric: MetricName): metric is DoraMetric {
  return (DORA_METRICS as readonly string[]).includes(metric);
}

/** The band of a value, with the dashboard's rule for a value on a bound. */
export function doraBand(metric: DoraMetric, value: number): DoraBandName {
  const { better, bounds } = DORA_BANDS[metric];
  const index = better === 'higher' ? bounds.findIndex((b) => value >= b) : bounds.findIndex((b) => value < b);
  return DORA_BAND_NAMES[index === -1 ? 3 : index]!;
}
