// From stored events to a metric value: the one place that knows which pure metric function
// answers which `metric:` of the OKR file, and which events it reads.
import type { KeyResult } from '../config/types.js';
import { ciDuration } from '../metrics/ci-duration.js';
import { ciSuccessRate } from '../metrics/ci-success-rate.js';
import { testCoverage } from '../metrics/test-coverage.js';
import { changeFailureRate } from '../metrics/change-failure-rate.js';
import { deploymentFrequency } from '../metrics/deployment-frequency.js';
import { deploymentsFromRuns } from '../metrics/deployments-from-runs.js';
import { incidentCount } from '../metrics/incident-count.js';
import { leadTimeForChanges } from '../metrics/lead-time.js';
import { rollbackRate } from '../metrics/rollback-rate.js';
import { successfulDeployments } from '../metrics/successful-deployments.js';
import { timeToAcknowledge } from '../metrics/time-to-acknowledge.js';
import { timeToRestore } from '../metrics/time-to-restore.js';
import type { Window } from '../metrics/window.js';
import type { Deployment, IncidentEvent, WorkflowRunEvent } from '../store/events.js';
import type { Store } from '../store/store.js';

export class NotMeasuredError extends Error {
  override readonly name = 'NotMeasuredError';
}

/** Sources read live at evaluation time rather than from stored events. */
export interface LiveSources {
  promql?: (kr: KeyResult, at: number) => Promise<number | null>;
}

/** Successful deployments of the KR's repositories, from either deployment source of METRICS.md. */
export async function deploymentsOf(kr: KeyResult, store: Store): Promise<Deployment[]> {
  const d = kr.deployments;
  if (d.source === 'deployments') {
    const events = await Promise.all(kr.repos.map((r) => store.getEvents('deployment', `${r}@${d.environment}`)));
    return successfulDeployments(events.flat());
  }
  const runs = await Promise.all(kr.repos.map((r) => store.getEvents('workflow_run', `${r}/${d.workflow}@${d.branch}`)));
  return deploymentsFromRuns(runs.flat(), { workflow: d.workflow, branch: d.branch });
}

async function incidentsOf(kr: KeyResult, store: Store): Promise<IncidentEvent[]> {
  return (await Promise.all(kr.services.map((s) => store.getEvents('incident', s)))).flat();
}

async function runsOf(kr: KeyResult, store: Store): Promise<WorkflowRunEvent[]> {
  return (await Promise.all(kr.repos.map((r) => store.getEvents('workflow_run', `${r}/${kr.workflow}@${kr.branch}`)))).flat();
}

/** The metric's value at `at`; null when there is nothing to measure (METRICS.md: never 0 for rates). */
export async function measure(kr: KeyResult, store: Store, at: number, live: LiveSources = {}): Promise<number | null> {
  const w: Window = { at, windowMs: kr.windowMs };
  switch (kr.metric) {
    case 'deployment_frequency':
      return deploymentFrequency(await deploymentsOf(kr, store), w);
    case 'rollback_rate':
      return rollbackRate(await deploymentsOf(kr, store), w);
    case 'change_failure_rate':
      return changeFailureRate(await deploymentsOf(kr, store), kr.services.length ? await incidentsOf(kr, store) : null, w, kr.attributionMs);
    case 'lead_time_for_changes': {
      const compares = await Promise.all(kr.repos.map((r) => store.getEvents('compare', r)));
      return leadTimeForChanges(await deploymentsOf(kr, store), compares.flat(), w, kr.stat);
    }
    case 'time_to_restore':
      return timeToRestore(await incidentsOf(kr, store), w, kr.stat);
    case 'time_to_acknowledge':
      return timeToAcknowledge(await incidentsOf(kr, store), w, kr.stat);
    case 'incident_count':
      return incidentCount(await incidentsOf(kr, store), w, kr.urgency);
    case 'ci_success_rate':
      return ciSuccessRate(await runsOf(kr, store), w);
    case 'ci_duration':
      return ciDuration(await runsOf(kr, store), w, kr.stat);
    case 'test_coverage': {
      const coverage = await Promise.all(kr.repos.map((r) => store.getEvents('coverage', `${r}/${kr.workflow}@${kr.branch}`)));
      return testCoverage(coverage.flat(), at);
    }
    case 'promql':
      if (!live.promql) throw new NotMeasuredError('promql needs sources.prometheus; none is configured');
      return live.promql(kr, at);
  }
}
