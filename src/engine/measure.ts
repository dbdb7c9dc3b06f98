// From stored events to a metric value: the one place that knows which pure metric function
// answers which `metric:` of the OKR file.
import type { KeyResult } from '../config/types.js';
import { deploymentFrequency } from '../metrics/deployment-frequency.js';
import { successfulDeployments } from '../metrics/successful-deployments.js';
import type { DeploymentEvent } from '../store/events.js';
import type { Store } from '../store/store.js';

export class NotMeasuredError extends Error {
  override readonly name = 'NotMeasuredError';
}

async function deploymentEvents(kr: KeyResult, store: Store): Promise<DeploymentEvent[]> {
  if (kr.deployments.source !== 'deployments') {
    throw new NotMeasuredError(
      `deployments.source "${kr.deployments.source}" is not measured yet; use { source: deployments, environment: ... }`,
    );
  }
  const env = kr.deployments.environment;
  const perRepo = await Promise.all(kr.repos.map((r) => store.getEvents('deployment', `${r}@${env}`)));
  return perRepo.flat();
}

/** The metric's value at `at`; null when there is nothing to measure (METRICS.md: never 0 for rates). */
export async function measure(kr: KeyResult, store: Store, at: number): Promise<number | null> {
  switch (kr.metric) {
    case 'deployment_frequency': {
      const deployments = successfulDeployments(await deploymentEvents(kr, store));
      return deploymentFrequency(deployments, { at, windowMs: kr.windowMs });
    }
    default:
      throw new NotMeasuredError(`metric ${kr.metric} is not measured yet by this version of kr-tracker`);
  }
}
