import type { Deployment } from '../core/events.js';
import { deploymentKey, rollbackFlags } from './rollbacks.js';
import { inWindow, type Window } from './window.js';

/**
 * METRICS.md `rollback_rate`: rollbacks with deployed_at in the window divided by successful
 * deployments in the window; null (no data) when nothing was deployed in it. Whether a deployment
 * is a rollback depends on the deployments before it, so pass the history, not just the window.
 * `flags`: rollbackFlags(deployments), when the caller has it already.
 */
export function rollbackRate(deployments: readonly Deployment[], w: Window, flags: ReadonlyMap<string, boolean> = rollbackFlags(deployments)): number | null {
  let total = 0;
  let rollbacks = 0;
  for (const d of deployments) {
    if (!inWindow(d.deployedAt, w)) continue;
    total++;
    if (flags.get(deploymentKey(d))) rollbacks++;
  }
  return total === 0 ? null : rollbacks / total;
}
