import type { Config, KeyResult } from '../config/types.js';
import { streamId, type StreamKey } from '../store/store.js';

const github = (stream: string, key: string): StreamKey => ({ source: 'github', stream, key });

/** The streams of the KR's deployments: GitHub deployments, or the deploy workflow's runs. */
function deploymentStreams(kr: KeyResult): StreamKey[] {
  const d = kr.deployments;
  return d.source === 'deployments'
    ? kr.repos.map((r) => github('deployments', `${r}@${d.environment}`))
    : kr.repos.map((r) => github('runs', `${r}/${d.workflow}@${d.branch}`));
}

const incidentStreams = (kr: KeyResult) => kr.services.map((s): StreamKey => ({ source: 'pagerduty', stream: 'incidents', key: s }));

/** The source streams one key result reads, each after the streams it is derived from. */
export function streamsOf(kr: KeyResult): StreamKey[] {
  switch (kr.metric) {
    case 'deployment_frequency':
    case 'rollback_rate':
      return deploymentStreams(kr);
    case 'change_failure_rate':
      return [...deploymentStreams(kr), ...incidentStreams(kr)];
    case 'lead_time_for_changes': {
      const d = kr.deployments;
      // Compares are taken between consecutive GitHub deployments of an environment.
      return d.source === 'deployments' ? [...deploymentStreams(kr), ...kr.repos.map((r) => github('compare', `${r}@${d.environment}`))] : deploymentStreams(kr);
    }
    case 'time_to_restore':
    case 'time_to_acknowledge':
    case 'incident_count':
      return incidentStreams(kr);
    case 'ci_success_rate':
    case 'ci_duration':
      return kr.repos.map((r) => github('runs', `${r}/${kr.workflow}@${kr.branch}`));
    case 'test_coverage':
      return kr.repos.flatMap((r) => [github('runs', `${r}/${kr.workflow}@${kr.branch}`), github('coverage', `${r}/${kr.workflow}@${kr.branch}#${kr.artifact}`)]);
    case 'deployment_rework_rate':
      return [...deploymentStreams(kr), ...incidentStreams(kr)];
    case 'pr_cycle_time': {
      // The changes of each deployment (as for lead time), and the PRs whose merge commits they are.
      const d = kr.deployments;
      const compares = d.source === 'deployments' ? kr.repos.map((r) => github('compare', `${r}@${d.environment}`)) : [];
      return [...deploymentStreams(kr), ...compares, ...kr.repos.map((r) => github('pulls', r))];
    }
    case 'promql':
      return [];
  }
}

/** Every stream the config needs, each once, in first-needed order (a derived stream after its source). */
export function planStreams(config: Config): StreamKey[] {
  const byId = new Map<string, StreamKey>();
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      for (const s of streamsOf(kr)) if (!byId.has(streamId(s))) byId.set(streamId(s), s);
    }
  }
  return [...byId.values()];
}

/** Streams computed from `stream`'s events, to sync again once it has new ones. */
export function dependentStreams(config: Config, stream: StreamKey): StreamKey[] {
  return planStreams(config).filter(
    (s) =>
      s.source === stream.source &&
      ((stream.stream === 'deployments' && s.stream === 'compare' && s.key === stream.key) ||
        (stream.stream === 'runs' && s.stream === 'coverage' && s.key.startsWith(`${stream.key}#`))),
  );
}
