import { deploymentChanges, leadTimeOfChanges, touchingChanges } from '../lead-time.js';
import { inWindow } from '../window.js';
import { compareStreams, deploymentStreams, pathStreams, readDeployments, readStreams } from './shared.js';
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
  // Compares are taken between consecutive GitHub deployments of an environment; with `paths:`,
  // the commits touching each path tell which changes count.
  streams: (kr) => [...deploymentStreams(kr), ...compareStreams(kr), ...pathStreams(kr)],
  // A commit counts at the first deployment listing it: the history up to the instant.
  reads(kr, plan) {
    readDeployments(kr, plan, [[-Infinity, plan.hi]]);
    plan.add('compare', kr.repos, [[-Infinity, Infinity]]);
    readStreams(plan, pathStreams(kr), [[-Infinity, Infinity]]);
  },
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const all = await ctx.memo(`changes:${kr.deployments.source}`, ['deployment', 'workflow_run', 'compare'], async () => deploymentChanges(d, await ctx.events('compare')));
    const paths = kr.paths ?? [];
    const touching = paths.length === 0 ? null : await ctx.memo('touching', ['commit'], async () => new Set((await ctx.events('commit')).map((c) => `${c.repo}\n${c.id}`)));
    const changes = touching === null ? all : touchingChanges(all, touching);
    return async (at) => leadTimeOfChanges(changes, { at, windowMs: kr.windowMs }, kr.stat);
  },
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const all = deploymentChanges(d, await ctx.events('compare'));
    // With `paths:`, only the changes that touch them, as measure() counts them.
    const paths = kr.paths ?? [];
    const changes = paths.length === 0 ? all : touchingChanges(all, new Set((await ctx.events('commit')).map((c) => `${c.repo}\n${c.id}`)));
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
    subject: (kr, stat) => `${stat} lead time for changes${kr.paths?.length ? ` under ${kr.paths.join(' or ')}` : ''}`,
    counterpart: 'the change failure rate (metric: change_failure_rate), so speed does not cost stability',
  },
});
