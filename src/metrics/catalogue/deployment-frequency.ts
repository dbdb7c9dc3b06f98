import { deploymentFrequency } from '../deployment-frequency.js';
import { deploymentStreams, readDeployments } from './shared.js';
import { defineMetric } from './types.js';
import { explainDeployments } from './explain.js';

export default defineMetric({
  name: 'deployment_frequency',
  title: 'Deployment frequency',
  source: 'github',
  unit: 'per_day',
  better: 'increase',
  range: 'non_negative',
  windowed: true,
  streams: deploymentStreams,
  reads: (kr, plan) => readDeployments(kr, plan, plan.windows()),
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    return async (at) => deploymentFrequency(d, { at, windowMs: kr.windowMs });
  },
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    return async (at) => ({ deployments: explainDeployments(d, flags, null, { at, windowMs: kr.windowMs }, kr.attributionMs) });
  },
  wording: {
    subject: (kr) => (kr.deployments.source === 'deployments' ? `deployments to ${(kr.deployments.environments ?? [kr.deployments.environment]).join(' or ')}` : `deployments by ${kr.deployments.workflow}`),
    counterpart: 'the change failure rate (metric: change_failure_rate), so speed does not cost stability',
  },
});
