// What each metric needs from a key result and what it measures in (../shared/METRICS.md).
import type { MetricName } from './types.js';

/** The unit a metric reports in; promql has none unless the key result gives `unit`. */
export const DEFAULT_UNIT: Record<MetricName, string> = {
  deployment_frequency: 'per_day',
  lead_time_for_changes: 'seconds',
  change_failure_rate: 'ratio',
  rollback_rate: 'ratio',
  time_to_restore: 'seconds',
  time_to_acknowledge: 'seconds',
  incident_count: 'count',
  ci_success_rate: 'ratio',
  ci_duration: 'seconds',
  test_coverage: 'ratio',
  promql: '',
  deployment_rework_rate: 'ratio',
  pr_cycle_time: 'seconds',
};

/** Metrics read from runs of a named GitHub Actions workflow. */
export const WORKFLOW_METRICS: ReadonlySet<MetricName> = new Set(['ci_success_rate', 'ci_duration', 'test_coverage']);
