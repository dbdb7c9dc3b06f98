import { streams } from '../../core/stream.js';
import { deploymentChanges } from '../lead-time.js';
import { PR_STAGES, prCycleTime, prStages, type PrStage } from '../pr-cycle-time.js';
import { compareStreams, deploymentStreams, readDeployments } from './shared.js';
import { defineMetric } from './types.js';

/** The stage a key result measures (`stage:`, default total). */
export const stageOf = (kr: { options?: Readonly<Record<string, string>> }): PrStage => (kr.options?.stage ?? 'total') as PrStage;

export default defineMetric({
  name: 'pr_cycle_time',
  title: 'Pull-request cycle time',
  source: 'github',
  unit: 'seconds',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  options: {
    stage: {
      values: PR_STAGES,
      default: 'total',
      example: 'stage: review',
      description: 'coding (first commit to PR opened), review (opened to merged), deploy (merged to deployed) or total (first commit to deployed)',
    },
  },
  // The changes of each deployment (as for lead time), and the PRs whose merge commits they are.
  streams(kr) {
    return [...deploymentStreams(kr), ...compareStreams(kr), ...kr.repos.map((r) => streams.pulls(r))];
  },
  reads(kr, plan) {
    readDeployments(kr, plan, [[-Infinity, plan.hi]]);
    plan.add('compare', kr.repos, [[-Infinity, Infinity]]);
    plan.add('pull_request', kr.repos, [[-Infinity, plan.hi]]);
  },
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const changes = await ctx.memo(`changes:${kr.deployments.source}`, ['deployment', 'workflow_run', 'compare'], async () => deploymentChanges(d, await ctx.events('compare')));
    const pulls = await ctx.events('pull_request');
    const stage = stageOf(kr);
    return async (at) => prCycleTime(changes, pulls, { at, windowMs: kr.windowMs }, stage, kr.stat);
  },
  // The pull requests that entered the value, with the seconds of the stage measured.
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const changes = deploymentChanges(d, await ctx.events('compare'));
    const pulls = await ctx.events('pull_request');
    const stage = stageOf(kr);
    return async (at) => ({
      pulls: prStages(changes, pulls, { at, windowMs: kr.windowMs }, stage).map((p) => ({ repository: p.repo, number: p.number, stage, seconds: p.seconds })),
    });
  },
  wording: {
    subject: (kr, stat) => (stageOf(kr) === 'total' ? `${stat} pull-request cycle time` : `${stat} pull-request ${stageOf(kr)} time`),
    counterpart: 'the change failure rate (metric: change_failure_rate), so faster reviews do not let failures through',
  },
});
