import { rollbackRate } from '../rollback-rate.js';
import { deploymentStreams, readDeployments } from './shared.js';
import { defineMetric } from './types.js';
import { explainDeployments } from './explain.js';

export default defineMetric({
  name: 'rollback_rate',
  title: 'Rollback rate',
  source: 'github',
  unit: 'ratio',
  better: 'decrease',
  range: 'ratio',
  windowed: true,
  streams: deploymentStreams,
  // A rollback returns to the sha of some earlier deployment: the history up to the instant.
  reads: (kr, plan) => readDeployments(kr, plan, [[-Infinity, plan.hi]]),
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    return async (at) => rollbackRate(d, { at, windowMs: kr.windowMs }, flags);
  },
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    return async (at) => ({ deployments: explainDeployments(d, flags, null, { at, windowMs: kr.windowMs }, kr.attributionMs) });
  },
  wording: {
    subject: () => 'the rollback rate',
    counterpart: 'deployment frequency (metric: deployment_frequency), so stability does not come from shipping less',
  },
});
