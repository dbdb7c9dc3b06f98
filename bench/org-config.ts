// The bench organisation's config (bench/sync/org.ts) repeated to any number of key results, for
// the benches that need thousands of them (bench:scrape, bench:startup).
import { formatProblem, parseConfig } from '../src/config/load.js';
import type { Config, KeyResult, Objective } from '../src/config/types.js';
import { benchConfigYaml } from './sync/org.js';

export function benchConfig(repos: string[], services: string[], githubUrl = 'http://127.0.0.1:1', pagerdutyUrl = 'http://127.0.0.1:1'): Config {
  const { config, problems } = parseConfig(benchConfigYaml(repos, services, githubUrl, pagerdutyUrl), 'bench.yaml', {});
  if (!config) throw new Error(problems.map(formatProblem).join('\n'));
  return config;
}

/**
 * The config's 34 key results repeated (ids suffixed) until there are `n`, in objectives of at
 * most `perObjective` key results (`delivery`, `delivery-2`, ...; default: the 3 objectives only).
 */
export function repeated(config: Config, n: number, perObjective = Infinity): Config {
  const all = config.objectives.flatMap((o) => o.keyResults.map((kr) => ({ o, kr })));
  const objectives = new Map<string, Objective>();
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { o, kr } = all[i % all.length]!;
    const copy = Math.floor(i / all.length);
    const k = counts.get(o.id) ?? 0;
    counts.set(o.id, k + 1);
    const part = Math.floor(k / perObjective);
    const id = part === 0 ? o.id : `${o.id}-${part + 1}`;
    const target = objectives.get(id) ?? { ...o, id, keyResults: [] as KeyResult[] };
    objectives.set(id, target);
    target.keyResults.push({ ...kr, id: copy === 0 ? kr.id : `${kr.id}-${copy}`, objectiveId: id });
  }
  return { ...config, objectives: [...objectives.values()] };
}
