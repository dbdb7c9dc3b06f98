import { ciDuration } from '../ci-duration.js';
import { readStreams, workflowRunStreams } from './shared.js';
import { defineMetric } from './types.js';

export default defineMetric({
  name: 'ci_duration',
  title: 'CI duration',
  source: 'github',
  unit: 'seconds',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  requires: ['workflow'],
  streams: workflowRunStreams,
  reads: (kr, plan) => readStreams(plan, workflowRunStreams(kr), plan.windows()),
  async measure(kr, ctx) {
    const runs = await ctx.events('workflow_run');
    return async (at) => ciDuration(runs, { at, windowMs: kr.windowMs }, kr.stat);
  },
  wording: {
    subject: (kr, stat) => `the ${stat} duration of ${kr.workflow ?? 'the workflow'}`,
    counterpart: 'the CI success rate (metric: ci_success_rate), so faster runs do not become flakier ones',
  },
});
