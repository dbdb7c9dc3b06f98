// The metric catalogue: every metric kr-tracker measures, one descriptor per file. Adding a metric
// is one new file in this directory and one line in CATALOGUE (docs/adding-a-metric.md).
import changeFailureRate from './change-failure-rate.js';
import ciDuration from './ci-duration.js';
import ciSuccessRate from './ci-success-rate.js';
import deploymentFrequency from './deployment-frequency.js';
import deploymentReworkRate from './deployment-rework-rate.js';
import incidentCount from './incident-count.js';
import leadTimeForChanges from './lead-time-for-changes.js';
import prCycleTime from './pr-cycle-time.js';
import promql from './promql.js';
import rollbackRate from './rollback-rate.js';
import testCoverage from './test-coverage.js';
import timeToAcknowledge from './time-to-acknowledge.js';
import timeToRestore from './time-to-restore.js';
import type { MetricDescriptor } from './types.js';

/** In the order the docs, `metric:` suggestions and error messages list them. */
export const CATALOGUE = [
  deploymentFrequency,
  leadTimeForChanges,
  changeFailureRate,
  rollbackRate,
  timeToRestore,
  timeToAcknowledge,
  incidentCount,
  ciSuccessRate,
  ciDuration,
  testCoverage,
  promql,
  deploymentReworkRate,
  prCycleTime,
] as const;

/** A `metric:` of the OKR file. */
export type MetricName = (typeof CATALOGUE)[number]['name'];

export const METRIC_NAMES = CATALOGUE.map((d) => d.name) as unknown as readonly [MetricName, ...MetricName[]];

const BY_NAME: ReadonlyMap<string, MetricDescriptor> = new Map(CATALOGUE.map((d) => [d.name, d as MetricDescriptor]));

/** The descriptor of a metric. */
export function metricOf(name: MetricName): MetricDescriptor<MetricName> {
  const d = BY_NAME.get(name);
  if (!d) throw new Error(`no metric "${name}" in the catalogue (src/metrics/catalogue/index.ts)`);
  return d as MetricDescriptor<MetricName>;
}

export { UNITS, unitOf, type Unit, type UnitName } from './units.js';
export { NotMeasuredError, type Direction, type MetricDescriptor, type MetricKnobs, type MetricSource } from './types.js';
