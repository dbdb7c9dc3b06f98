// From stored events to a metric value: the one place that knows which pure metric function
// answers which `metric:` of the OKR file, and which events it reads.
import type { KeyResult } from '../config/types.js';
import { ciDuration } from '../metrics/ci-duration.js';
import { ciSuccessRate } from '../metrics/ci-success-rate.js';
import { testCoverage } from '../metrics/test-coverage.js';
import { changeFailureRate, incidentTimesOf } from '../metrics/change-failure-rate.js';
import { deploymentFrequency } from '../metrics/deployment-frequency.js';
import { deploymentsFromRuns } from '../metrics/deployments-from-runs.js';
import { incidentCount } from '../metrics/incident-count.js';
import { deploymentChanges, leadTimeOfChanges } from '../metrics/lead-time.js';
import { deploymentReworkRate, openIncidentsOf } from '../metrics/deployment-rework-rate.js';
import { prCycleTime } from '../metrics/pr-cycle-time.js';
import { deploymentsByRepo, rollbackFlags } from '../metrics/rollbacks.js';
import { rollbackRate } from '../metrics/rollback-rate.js';
import { successfulDeployments } from '../metrics/successful-deployments.js';
import { timeToAcknowledge } from '../metrics/time-to-acknowledge.js';
import { timeToRestore } from '../metrics/time-to-restore.js';
import type { Window } from '../metrics/window.js';
import type { Deployment, EventKind, EventKinds } from '../store/events.js';
import { RoundReader, type Read } from './round.js';
import type { Store } from '../store/store.js';

export class NotMeasuredError extends Error {
  override readonly name = 'NotMeasuredError';
}

/** Sources read live at evaluation time rather than from stored events. */
export interface LiveSources {
  promql?: (kr: KeyResult, at: number) => Promise<number | null>;
}

/**
 * What a KR reads to be measured at the instants `ats`: for each partition, the range of event
 * times (eventTime) its definition looks at, so that cost follows the window, not the history.
 *   - a window (at - W, at] of the event time the metric filters on: deployment_frequency (from
 *     deployments), ci_success_rate, ci_duration, incident_count, time_to_acknowledge;
 *   - plus what the definition needs beyond it: change_failure_rate the incidents after each
 *     deployment of the window (to +inf: the attribution window and the next deployment);
 *   - the history up to the instant where the definition walks it: rollback flags ("the sha of some
 *     earlier deployment"), lead time (a commit counts at the first deployment listing it), the
 *     next deployment of change_failure_rate, test_coverage (the latest report), time_to_restore
 *     (indexed by creation, filtered on resolution), deployments from workflow runs (indexed by
 *     creation, deployed at updated_at).
 * Each range is inclusive; the metric functions keep applying their own (at - W, at] filter.
 */
export function readsOf(kr: KeyResult, ats: readonly number[]): Read[] {
  const lo = Math.min(...ats);
  const hi = Math.max(...ats);
  const windows = (): [number, number][] => ats.map((t) => [t - kr.windowMs, t]);
  const out: Read[] = [];
  const add = (kind: EventKind, partitions: string[], ranges: [number, number][]) => {
    for (const partition of partitions) for (const [from, to] of ranges) out.push({ kind, partition, from, to });
  };
  const deploymentReads = (ranges: [number, number][]) => {
    const d = kr.deployments;
    if (d.source === 'deployments') add('deployment', kr.repos.map((r) => `${r}@${d.environment}`), ranges);
    // Runs are indexed by created_at and deployed at updated_at: any run created before the instant.
    else add('workflow_run', kr.repos.map((r) => `${r}/${d.workflow}@${d.branch}`), [[-Infinity, Math.max(...ranges.map((x) => x[1]))]]);
  };
  const incidents = (ranges: [number, number][]) => add('incident', kr.services, ranges);
  const runs = () => add('workflow_run', kr.repos.map((r) => `${r}/${kr.workflow}@${kr.branch}`), windows());
  switch (kr.metric) {
    case 'deployment_frequency':
      deploymentReads(windows());
      break;
    case 'rollback_rate':
      deploymentReads([[-Infinity, hi]]);
      break;
    case 'change_failure_rate':
      deploymentReads([[-Infinity, Infinity]]);
      if (kr.services.length) incidents([[lo - kr.windowMs, Infinity]]);
      break;
    case 'lead_time_for_changes':
      deploymentReads([[-Infinity, hi]]);
      add('compare', kr.repos, [[-Infinity, Infinity]]);
      break;
    case 'time_to_restore':
      incidents([[-Infinity, hi]]);
      break;
    case 'time_to_acknowledge':
    case 'incident_count':
      incidents(windows());
      break;
    case 'ci_success_rate':
    case 'ci_duration':
      runs();
      break;
    case 'test_coverage':
      add('coverage', kr.repos.map((r) => `${r}/${kr.workflow}@${kr.branch}`), [[-Infinity, hi]]);
      break;
    case 'deployment_rework_rate':
      // Rollback flags walk the history; an incident created before the window may be open in it.
      deploymentReads([[-Infinity, hi]]);
      if (kr.services.length) incidents([[-Infinity, hi]]);
      break;
    case 'pr_cycle_time':
      // The changes of lead time, and the PRs merged before the deployments that shipped them.
      deploymentReads([[-Infinity, hi]]);
      add('compare', kr.repos, [[-Infinity, Infinity]]);
      add('pull_request', kr.repos, [[-Infinity, hi]]);
      break;
    case 'promql':
      break;
  }
  return out;
}

/** The round's memo key of what is derived from these reads of these kinds. */
function keyOf(what: string, reads: readonly Read[], kinds: readonly EventKind[]): string {
  return `${what}|${reads
    .filter((r) => kinds.includes(r.kind))
    .map((r) => `${r.kind}:${r.partition}:${r.from}:${r.to}`)
    .join('|')}`;
}

/** The events of `reads` of one kind, each once; shared by the round's key results making the same reads. */
function eventsOf<K extends EventKind>(reader: RoundReader, reads: readonly Read[], kind: K): Promise<EventKinds[K][]> {
  return reader.memo(keyOf('events', reads, [kind]), async () => {
    const mine = reads.filter((r) => r.kind === kind);
    return dedupe((await Promise.all(mine.map((r) => reader.read(kind, r.partition, r.from, r.to)))).flat());
  });
}

/** Successful deployments of the KR's repositories, from either deployment source of METRICS.md. */
function deploymentsOf(kr: KeyResult, reader: RoundReader, reads: readonly Read[]): Promise<Deployment[]> {
  const d = kr.deployments;
  return reader.memo(keyOf(`deployments:${d.source === 'deployments' ? '' : `${d.workflow}@${d.branch}`}`, reads, ['deployment', 'workflow_run']), async () => {
    if (d.source === 'deployments') return successfulDeployments(await eventsOf(reader, reads, 'deployment'));
    return deploymentsFromRuns(await eventsOf(reader, reads, 'workflow_run'), { workflow: d.workflow, branch: d.branch });
  });
}

/** Rollback flags of the KR's deployments, once per round for the same reads. */
function flagsOf(kr: KeyResult, reader: RoundReader, reads: readonly Read[], d: Deployment[]): Promise<Map<string, boolean>> {
  return reader.memo(keyOf(`flags:${kr.deployments.source}`, reads, ['deployment', 'workflow_run']), async () => rollbackFlags(d));
}

/**
 * Events read for several ranges of one partition (a window now and one at the period start) may
 * overlap: each event once, as a whole-partition read gave them.
 */
function dedupe<E extends { id: string | number; repo?: string; service?: string }>(events: E[]): E[] {
  const seen = new Set<unknown>();
  return events.filter((e) => {
    const k = `${e.repo ?? e.service ?? ''}\u0000${e.id}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The metric as a function of the instant; null when there is nothing to measure (METRICS.md: never 0 for rates). */
export type Measurer = (at: number) => Promise<number | null>;

/**
 * Reads the KR's events once and returns its metric as a function of the instant, so that an
 * evaluation measuring now and at the period start (the baseline) reads the store once. `ats`:
 * the instants it will be asked for (the reads are bounded by them, see readsOf); without them,
 * every event is read. `source`: the round's reader, shared by the round's key results, or a
 * store (a reader of its own).
 */
export async function measurer(kr: KeyResult, source: Store | RoundReader, live: LiveSources = {}, ats?: readonly number[]): Promise<Measurer> {
  const reader = source instanceof RoundReader ? source : new RoundReader(source);
  const reads = ats && ats.length > 0 ? readsOf(kr, ats) : readsOf(kr, [Infinity]).map((r) => ({ ...r, from: -Infinity, to: Infinity }));
  const w = (at: number): Window => ({ at, windowMs: kr.windowMs });
  switch (kr.metric) {
    case 'deployment_frequency': {
      const d = await deploymentsOf(kr, reader, reads);
      return async (at) => deploymentFrequency(d, w(at));
    }
    case 'rollback_rate': {
      const d = await deploymentsOf(kr, reader, reads);
      const flags = await flagsOf(kr, reader, reads, d);
      return async (at) => rollbackRate(d, w(at), flags);
    }
    case 'change_failure_rate': {
      const d = await deploymentsOf(kr, reader, reads);
      const flags = await flagsOf(kr, reader, reads, d);
      const byRepo = await reader.memo(keyOf(`by-repo:${kr.deployments.source}`, reads, ['deployment', 'workflow_run']), async () => deploymentsByRepo(d));
      const incidents = kr.services.length ? await eventsOf(reader, reads, 'incident') : null;
      const incidentTimes = await reader.memo(keyOf('incident-times', reads, ['incident']), async () => incidentTimesOf(incidents));
      return async (at) => changeFailureRate(d, incidents, w(at), kr.attributionMs, { flags, byRepo, incidentTimes });
    }
    case 'lead_time_for_changes': {
      const d = await deploymentsOf(kr, reader, reads);
      const changes = await reader.memo(keyOf(`changes:${kr.deployments.source}`, reads, ['deployment', 'workflow_run', 'compare']), async () =>
        deploymentChanges(d, await eventsOf(reader, reads, 'compare')),
      );
      return async (at) => leadTimeOfChanges(changes, w(at), kr.stat);
    }
    case 'time_to_restore': {
      const i = await eventsOf(reader, reads, 'incident');
      return async (at) => timeToRestore(i, w(at), kr.stat);
    }
    case 'time_to_acknowledge': {
      const i = await eventsOf(reader, reads, 'incident');
      return async (at) => timeToAcknowledge(i, w(at), kr.stat);
    }
    case 'incident_count': {
      const i = await eventsOf(reader, reads, 'incident');
      return async (at) => incidentCount(i, w(at), kr.urgency);
    }
    case 'ci_success_rate': {
      const runs = await eventsOf(reader, reads, 'workflow_run');
      return async (at) => ciSuccessRate(runs, w(at));
    }
    case 'ci_duration': {
      const runs = await eventsOf(reader, reads, 'workflow_run');
      return async (at) => ciDuration(runs, w(at), kr.stat);
    }
    case 'test_coverage': {
      const coverage = await eventsOf(reader, reads, 'coverage');
      return async (at) => testCoverage(coverage, at);
    }
    case 'deployment_rework_rate': {
      const d = await deploymentsOf(kr, reader, reads);
      const flags = await flagsOf(kr, reader, reads, d);
      const open = kr.services.length ? openIncidentsOf(await eventsOf(reader, reads, 'incident')) : null;
      return async (at) => deploymentReworkRate(d, null, w(at), { flags, open });
    }
    case 'pr_cycle_time': {
      const d = await deploymentsOf(kr, reader, reads);
      const changes = await reader.memo(keyOf(`changes:${kr.deployments.source}`, reads, ['deployment', 'workflow_run', 'compare']), async () =>
        deploymentChanges(d, await eventsOf(reader, reads, 'compare')),
      );
      const pulls = await eventsOf(reader, reads, 'pull_request');
      return async (at) => prCycleTime(changes, pulls, w(at), kr.stage ?? 'total', kr.stat);
    }
    case 'promql': {
      const promql = live.promql;
      if (!promql) throw new NotMeasuredError('promql needs sources.prometheus; none is configured');
      return (at) => promql(kr, at);
    }
  }
}

