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

/** The metric as a function of the instant; null when there is nothing to measure (METRICS.md: never 0 for rates). */
export type Measurer = (at: number) => Promise<number | null>;

/**
 * Reads the KR's events once and returns its metric as a function of the instant, so that an
 * evaluation measuring now and at the period start (the baseline) reads the store once.
 */
export async function measurer(kr: KeyResult, store: Store, live: LiveSources = {}): Promise<Measurer> {
  const w = (at: number): Window => ({ at, windowMs: kr.windowMs });
  switch (kr.metric) {
    case 'deployment_frequency': {
      const d = await deploymentsOf(kr, store);
      return async (at) => deploymentFrequency(d, w(at));
    }
    case 'rollback_rate': {
      const d = await deploymentsOf(kr, store);
      return async (at) => rollbackRate(d, w(at));
    }
    case 'change_failure_rate': {
      const d = await deploymentsOf(kr, store);
      const incidents = kr.services.length ? await incidentsOf(kr, store) : null;
      return async (at) => changeFailureRate(d, incidents, w(at), kr.attributionMs);
    }
    case 'lead_time_for_changes': {
      const d = await deploymentsOf(kr, store);
      const compares = (await Promise.all(kr.repos.map((r) => store.getEvents('compare', r)))).flat();
      return async (at) => leadTimeForChanges(d, compares, w(at), kr.stat);
    }
    case 'time_to_restore': {
      const i = await incidentsOf(kr, store);
      return async (at) => timeToRestore(i, w(at), kr.stat);
    }
    case 'time_to_acknowledge': {
      const i = await incidentsOf(kr, store);
      return async (at) => timeToAcknowledge(i, w(at), kr.stat);
    }
    case 'incident_count': {
      const i = await incidentsOf(kr, store);
      return async (at) => incidentCount(i, w(at), kr.urgency);
    }
    case 'ci_success_rate': {
      const runs = await runsOf(kr, store);
      return async (at) => ciSuccessRate(runs, w(at));
    }
    case 'ci_duration': {
      const runs = await runsOf(kr, store);
      return async (at) => ciDuration(runs, w(at), kr.stat);
    }
    case 'test_coverage': {
      const coverage = (await Promise.all(kr.repos.map((r) => store.getEvents('coverage', `${r}/${kr.workflow}@${kr.branch}`)))).flat();
      return async (at) => testCoverage(coverage, at);
    }
    case 'promql': {
      const promql = live.promql;
      if (!promql) throw new NotMeasuredError('promql needs sources.prometheus; none is configured');
      return (at) => promql(kr, at);
    }
  }
}

