import type { Deployment } from '../core/events.js';

/** The key of a deployment in the maps below: ids are unique only within a repository. */
export function deploymentKey(d: Pick<Deployment, 'repo' | 'id'>): string {
  return `${d.repo}#${d.id}`;
}

/**
 * The sequence a deployment belongs to: its repository and environment (`acme/mono@production-search`),
 * or its repository alone for a deploy workflow's runs. "Previous", "next", rollbacks and what was
 * deployed before are taken within one sequence: one repository deploying two services through two
 * environments has two (docs/config.md "Monorepos").
 */
export function sequenceOf(d: Pick<Deployment, 'repo' | 'environment'>): string {
  return d.environment === undefined ? d.repo : `${d.repo}@${d.environment}`;
}

/**
 * Successful deployments grouped by sequence (repository, and environment: `sequenceOf`), each
 * group in METRICS.md "Deployments" order `(deployed_at, id)`, so that "previous" and "next" are
 * neighbours whatever order came in.
 */
export function deploymentsByRepo(deployments: readonly Deployment[]): Map<string, Deployment[]> {
  const out = new Map<string, Deployment[]>();
  for (const d of deployments) {
    const k = sequenceOf(d);
    const list = out.get(k);
    if (list) list.push(d);
    else out.set(k, [d]);
  }
  for (const list of out.values()) list.sort((a, b) => a.deployedAt - b.deployedAt || a.id - b.id);
  return out;
}

/**
 * METRICS.md "Rollback": a successful deployment whose sha differs from the previous (successful,
 * same repository and environment) deployment's sha and equals the sha of some earlier successful deployment.
 * A redeploy of the running sha is not a rollback; the first deployment never is.
 * Keyed by `deploymentKey` (`repo#id`); every deployment given has an entry.
 */
export function rollbackFlags(deployments: readonly Deployment[]): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const list of deploymentsByRepo(deployments).values()) {
    const seen = new Set<string>();
    let prev: Deployment | null = null;
    for (const d of list) {
      flags.set(deploymentKey(d), prev !== null && d.sha !== prev.sha && seen.has(d.sha));
      seen.add(d.sha);
      prev = d;
    }
  }
  return flags;
}
