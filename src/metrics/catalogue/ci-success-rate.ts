import { ciSuccessRate, COUNTED_CONCLUSIONS, latestAttempts } from '../ci-success-rate.js';
import { readStreams, workflowRunStreams } from './shared.js';
import { defineMetric } from './types.js';
import { explainRun } from './explain.js';
import { inWindow } from '../window.js';

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
  async explain(kr, ctx) {
    const runs = latestAttempts(await ctx.events('workflow_run'));
    return async (at) => ({
      runs: runs
        .filter((r) => r.status === 'completed' && COUNTED_CONCLUSIONS.has(r.conclusion ?? '') && inWindow(r.createdAt, { at, windowMs: kr.windowMs }))
        .sort((a, b) => a.createdAt - b.createdAt || a.id - b.id)
        .map(explainRun),
    });
  },
  wording: {
    subject: (kr) => `the success rate of ${kr.workflow ?? 'the workflow'}`,
    counterpart: 'the CI duration (metric: ci_duration), so green runs are not bought with slower ones',
  },
});
