import type { Config, KeyResult } from '../config/types.js';
import type { StreamKey } from '../store/store.js';

/** The source streams one key result reads. */
export function streamsOf(kr: KeyResult): StreamKey[] {
  switch (kr.metric) {
    case 'deployment_frequency':
      if (kr.deployments.source !== 'deployments') return [];
      return kr.repos.map((repo) => ({
        source: 'github',
        stream: 'deployments',
        key: `${repo}@${(kr.deployments as { environment: string }).environment}`,
      }));
    default:
      return [];
  }
}

/** Every stream the config needs, each once, in a stable order. */
export function planStreams(config: Config): StreamKey[] {
  const byId = new Map<string, StreamKey>();
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      for (const s of streamsOf(kr)) byId.set(`${s.source}:${s.stream}:${s.key}`, s);
    }
  }
  return [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}
