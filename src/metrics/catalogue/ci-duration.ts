import { ciDuration } from '../ci-duration.js';
import { readStreams, workflowRunStreams } from './shared.js';
import { defineMetric } from './types.js';
import { explainRun } from './explain.js';
import { inWindow } from '../window.js';
import { latestAttempts } from '../ci-success-rate.js';

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
  async explain(kr, ctx) {
    const runs = latestAttempts(await ctx.events('workflow_run'));
    return async (at) => ({
      runs: runs
        .filter((r) => r.status === 'completed' && r.conclusion === 'success' && inWindow(r.createdAt, { at, windowMs: kr.windowMs }))
        .sort((a, b) => a.createdAt - b.createdAt || a.id - b.id)
        .map(explainRun),
    });
  },
  wording: {
    subject: (kr, stat) => `the ${stat} duration of ${kr.workflow ?? 'the workflow'}`,
    counterpart: 'the CI success rate (metric: ci_success_rate), so faster runs do not become flakier ones',
  },
});
