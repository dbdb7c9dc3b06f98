// Every bench key result computed independently from the datasets (METRICS.md), without the
// product's code: test/helpers/expected.ts where it has the metric, the rest here.
import type { GithubDataset } from '../../connectors/github/sim/dataset.js';
import type { PagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';
import type { KeyResult, Objective } from '../../src/config/types.js';
import {
  expectedChangeFailureRate,
  expectedCiDuration,
  expectedCoverage,
  expectedDeploymentFrequency,
  expectedLeadTimes,
  expectedRollbackRate,
  expectedStatistic,
} from '../../test/helpers/expected.js';

const DAY = 86_400_000;

/** Incidents of the services as PagerDuty shows them at `now` (created at or before it). */
function incidents(pd: PagerDutyDataset, services: string[], now: number) {
  return pd.incidents.filter((i) => services.includes(i.service_id) && Date.parse(i.created_at) <= now);
}

function inWindow(ms: number, at: number, windowMs: number): boolean {
  return ms > at - windowMs && ms <= at;
}

/** The value of `kr` at `at`, as the sources show the data at `now`. */
export function expectedValue(kr: KeyResult, github: GithubDataset, pd: PagerDutyDataset, at: number, now: number): number | null {
  const days = kr.windowMs / DAY;
  const env = kr.deployments.source === 'deployments' ? kr.deployments.environment : null;
  if (env === null && ['deployment_frequency', 'lead_time_for_changes', 'change_failure_rate', 'rollback_rate'].includes(kr.metric)) {
    throw new Error(`${kr.id}: the bench only computes GitHub-deployment sources`);
  }
  switch (kr.metric) {
    case 'deployment_rework_rate':
    case 'pr_cycle_time':
      throw new Error(`${kr.id}: the bench does not compute ${kr.metric}`);
    case 'deployment_frequency':
      return expectedDeploymentFrequency(github, kr.repos, env!, at, days);
    case 'lead_time_for_changes':
      return expectedStatistic(expectedLeadTimes(github, kr.repos, env!, at, days), kr.stat);
    case 'rollback_rate':
      return expectedRollbackRate(github, kr.repos, env!, at, days);
    case 'change_failure_rate': {
      const times = kr.services.length === 0 ? null : incidents(pd, kr.services, now).map((i) => Date.parse(i.created_at));
      return expectedChangeFailureRate(github, kr.repos, env!, times, at, days, kr.attributionMs);
    }
    case 'ci_success_rate': {
      let ok = 0;
      let total = 0;
      for (const run of github.repos.filter((r) => kr.repos.includes(r.fullName)).flatMap((r) => r.runs)) {
        if (run.workflow !== kr.workflow || run.head_branch !== kr.branch || run.status !== 'completed') continue;
        if (!inWindow(Date.parse(run.created_at), at, kr.windowMs)) continue;
        if (run.conclusion === 'success') ok++;
        if (run.conclusion === 'success' || run.conclusion === 'failure' || run.conclusion === 'timed_out') total++;
      }
      return total === 0 ? null : ok / total;
    }
    case 'ci_duration': {
      const p = { p50: 0.5, p90: 0.9, p99: 0.99 }[kr.stat as 'p50' | 'p90' | 'p99'];
      if (p === undefined) throw new Error(`${kr.id}: the bench computes ci_duration for p50/p90/p99 only`);
      return expectedCiDuration(github, kr.repos, kr.workflow!, kr.branch, at, days, p);
    }
    case 'test_coverage':
      return expectedCoverage(github, kr.repos[0]!, kr.workflow!, kr.branch, at, now);
    case 'time_to_restore': {
      const values: number[] = [];
      for (const i of incidents(pd, kr.services, now)) {
        const resolve = i.log_entries.find((e) => e.type === 'resolve_log_entry' && Date.parse(e.created_at) <= now);
        if (resolve && inWindow(Date.parse(resolve.created_at), at, kr.windowMs)) values.push((Date.parse(resolve.created_at) - Date.parse(i.created_at)) / 1000);
      }
      return expectedStatistic(values, kr.stat);
    }
    case 'time_to_acknowledge': {
      const values: number[] = [];
      for (const i of incidents(pd, kr.services, now)) {
        if (!inWindow(Date.parse(i.created_at), at, kr.windowMs)) continue;
        const ack = i.log_entries.find((e) => e.type === 'acknowledge_log_entry' && Date.parse(e.created_at) <= now);
        if (ack) values.push((Date.parse(ack.created_at) - Date.parse(i.created_at)) / 1000);
      }
      return expectedStatistic(values, kr.stat);
    }
    case 'incident_count':
      return incidents(pd, kr.services, now).filter((i) => inWindow(Date.parse(i.created_at), at, kr.windowMs) && (kr.urgency === null || i.urgency === kr.urgency)).length;
    case 'promql':
      throw new Error(`${kr.id}: promql is not part of the bench`);
  }
}

export interface Comparison {
  id: string;
  got: number | null;
  want: number | null;
  equal: boolean;
  error: string | null;
}

export function sameValue(got: number | null, want: number | null): boolean {
  if (got === null || want === null) return got === want;
  return Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
}

/** Compares the product's values with the independent ones, key result by key result. */
export function compareValues(
  objectives: Objective[],
  results: { keyResultId: string; objectiveId: string; value: number | null; error: string | null }[],
  github: GithubDataset,
  pd: PagerDutyDataset,
  at: number,
  now: number,
): Comparison[] {
  return objectives.flatMap((o) =>
    o.keyResults.map((kr) => {
      const r = results.find((x) => x.objectiveId === o.id && x.keyResultId === kr.id);
      const want = expectedValue(kr, github, pd, at, now);
      const got = r?.value ?? null;
      return { id: kr.id, got, want, equal: sameValue(got, want), error: r?.error ?? 'not evaluated' };
    }),
  );
}
