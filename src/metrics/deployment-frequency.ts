import type { Deployment } from '../core/events.js';
import { DAY_MS, inWindow, type Window } from './window.js';

/**
 * METRICS.md `deployment_frequency`: successful deployments with deployed_at in (at - W, at],
 * divided by the window in days. A count, so an empty window is 0 (a real value), not null.
 */
export function deploymentFrequency(deployments: readonly Deployment[], w: Window): number {
  let n = 0;
  for (const d of deployments) if (inWindow(d.deployedAt, w)) n++;
  return n / (w.windowMs / DAY_MS);
}
