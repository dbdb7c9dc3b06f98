import { streams } from '../../core/stream.js';
import { deploymentChanges, leadTimeOfChanges } from '../lead-time.js';
import { inWindow } from '../window.js';
import { deploymentStreams, readDeployments } from './shared.js';
import { defineMetric } from './types.js';
import { explainDeployments } from './explain.js';

export default defineMetric({
  name: 'lead_time_for_changes',
  title: 'Lead time for changes',
  source: 'github',
  unit: 'seconds',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  // Compares are taken between consecutive GitHub deployments of an environment.
  streams(kr) {
    const d = kr.deployments;
    return d.source === 'deployments' ? [...deploymentStreams(kr), ...kr.repos.map((r) => streams.compare(r, d.environment))] : deploymentStreams(kr);
  },
  // A commit counts at the first deployment listing it: the history up to the instant.
  reads(kr, plan) {
    readDeployments(kr, plan, [[-Infinity, plan.hi]]);
    plan.add('compare', kr.repos, [[-Infinity, Infinity]]);
  },
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const changes = await ctx.memo(`changes:${kr.deployments.source}`, ['deployment', 'workflow_run', 'compare'], async () => deploymentChanges(d, await ctx.events('compare')));
    return async (at) => leadTimeOfChanges(changes, { at, windowMs: kr.windowMs }, kr.stat);
  },
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const changes = deploymentChanges(d, await ctx.events('compare'));
    return async (at) => {
      const w = { at, windowMs: kr.windowMs };
      return {
        deployments: explainDeployments(d, flags, null, w, kr.attributionMs),
        changes: changes
          .filter((c) => inWindow(c.deployedAt, w))
          .flatMap((c) =>
            c.committedAt.map((t, i) => ({ repository: c.repo, sha: c.shas[i]!, committedAt: new Date(t).toISOString(), deployment: String(c.id), seconds: (c.deployedAt - t) / 1000 })),
          ),
      };
    };
  },
  wording: {
    subject: (_kr, stat) => `${stat} lead time for changes`,
    counterpart: 'the change failure rate (metric: change_failure_rate), so speed does not cost stability',
  },
});
