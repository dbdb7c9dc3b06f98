// Streams and reads several metrics share: a key result's deployments (either source of METRICS.md
// "Deployments"), its PagerDuty incidents, the runs of its workflow.
import { partitionOf, streams, type StreamKey } from '../../core/stream.js';
import type { MetricKnobs, ReadPlan } from './types.js';

/** The environments (names or patterns) a KR's GitHub deployments are read from, each once. */
export function environmentsOf(kr: MetricKnobs): string[] {
  const d = kr.deployments;
  if (d.source !== 'deployments') return [];
  return [...new Set(d.environments?.length ? d.environments : [d.environment])];
}

/**
 * The streams of the KR's deployments: GitHub deployments of each repository and environment (a
 * pattern is one stream syncing every matching environment), or the deploy workflow's runs.
 */
export function deploymentStreams(kr: MetricKnobs): StreamKey[] {
  const d = kr.deployments;
  if (d.source !== 'deployments') return kr.repos.map((r) => streams.runs(r, d.workflow, d.branch));
  const envs = environmentsOf(kr);
  return kr.repos.flatMap((r) => envs.map((e) => streams.deployments(r, e)));
}

/** The compare streams of the KR's GitHub deployments (the changes between consecutive ones); none for a deploy workflow. */
export function compareStreams(kr: MetricKnobs): StreamKey[] {
  const envs = environmentsOf(kr);
  return kr.repos.flatMap((r) => envs.map((e) => streams.compare(r, e)));
}

/** The streams of the commits touching the KR's `paths:` in each repository (lead time in a monorepo). */
export function pathStreams(kr: MetricKnobs): StreamKey[] {
  return kr.repos.flatMap((r) => (kr.paths ?? []).map((p) => streams.paths(r, p)));
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
