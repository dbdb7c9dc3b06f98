import { ciSuccessRate } from '../ci-success-rate.js';
import { readStreams, workflowRunStreams } from './shared.js';
import { defineMetric } from './types.js';

export default defineMetric({
  name: 'ci_success_rate',
  title: 'CI success rate',
  source: 'github',
  unit: 'ratio',
  better: 'increase',
  range: 'ratio',
  windowed: true,
  requires: ['workflow'],
  streams: workflowRunStreams,
  reads: (kr, plan) => readStreams(plan, workflowRunStreams(kr), plan.windows()),
  async measure(kr, ctx) {
    const runs = await ctx.events('workflow_run');
    return async (at) => ciSuccessRate(runs, { at, windowMs: kr.windowMs });
  },
  wording: {
    subject: (kr) => `the success rate of ${kr.workflow ?? 'the workflow'}`,
    counterpart: 'the CI duration (metric: ci_duration), so green runs are not bought with slower ones',
  },
});
