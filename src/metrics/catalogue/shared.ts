// Streams and reads several metrics share: a key result's deployments (either source of METRICS.md
// "Deployments"), its PagerDuty incidents, the runs of its workflow.
import { partitionOf, streams, type StreamKey } from '../../core/stream.js';
import type { MetricKnobs, ReadPlan } from './types.js';

/** The streams of the KR's deployments: GitHub deployments, or the deploy workflow's runs. */
export function deploymentStreams(kr: MetricKnobs): StreamKey[] {
  const d = kr.deployments;
  return d.source === 'deployments' ? kr.repos.map((r) => streams.deployments(r, d.environment)) : kr.repos.map((r) => streams.runs(r, d.workflow, d.branch));
}

export const incidentStreams = (kr: MetricKnobs): StreamKey[] => kr.services.map((s) => streams.incidents(s));

/** The runs of the KR's `workflow` on its `branch` in each repository (CI metrics, coverage). */
export const workflowRunStreams = (kr: MetricKnobs): StreamKey[] => kr.repos.map((r) => streams.runs(r, kr.workflow ?? '', kr.branch));

/** Reads the partitions of `list` (all of one kind) over `ranges`. */
export function readStreams(plan: ReadPlan, list: readonly StreamKey[], ranges: readonly [number, number][]): void {
  if (list.length === 0) return;
  const parts = list.map((s) => partitionOf(s));
  plan.add(parts[0]!.kind, parts.map((p) => p.partition), ranges);
}

/**
 * The KR's deployments over `ranges`. Runs of a deploy workflow are indexed by created_at and
 * deployed at updated_at: any run created before the last instant.
 */
export function readDeployments(kr: MetricKnobs, plan: ReadPlan, ranges: readonly [number, number][]): void {
  const list = deploymentStreams(kr);
  if (kr.deployments.source === 'deployments') readStreams(plan, list, ranges);
  else readStreams(plan, list, [[-Infinity, Math.max(...ranges.map((x) => x[1]))]]);
}

export const readIncidents = (kr: MetricKnobs, plan: ReadPlan, ranges: readonly [number, number][]): void => readStreams(plan, incidentStreams(kr), ranges);

/** The statistic in words: `median`, `p90`, `mean`. */
export const STAT_WORD: Record<MetricKnobs['stat'], string> = { p50: 'median', p75: 'p75', p90: 'p90', p95: 'p95', p99: 'p99', mean: 'mean' };
