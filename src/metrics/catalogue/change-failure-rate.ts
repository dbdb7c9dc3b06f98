import { changeFailureRate, incidentTimesOf } from '../change-failure-rate.js';
import { deploymentsByRepo } from '../rollbacks.js';
import { deploymentStreams, incidentStreams, readDeployments, readIncidents } from './shared.js';
import { defineMetric } from './types.js';
import { explainDeployments, explainIncident } from './explain.js';

export default defineMetric({
  name: 'change_failure_rate',
  title: 'Change failure rate',
  source: 'github',
  unit: 'ratio',
  better: 'decrease',
  range: 'ratio',
  windowed: true,
  streams: (kr) => [...deploymentStreams(kr), ...incidentStreams(kr)],
  // The whole deployment history (rollback flags, the next deployment) and the incidents after each
  // deployment of the window (to +inf: the attribution window and the next deployment).
  reads(kr, plan) {
    readDeployments(kr, plan, [[-Infinity, Infinity]]);
    if (kr.services.length) readIncidents(kr, plan, [[plan.lo - kr.windowMs, Infinity]]);
  },
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const byRepo = await ctx.memo(`by-repo:${kr.deployments.source}`, ['deployment', 'workflow_run'], async () => deploymentsByRepo(d));
    const incidents = kr.services.length ? await ctx.events('incident') : null;
    const incidentTimes = await ctx.memo('incident-times', ['incident'], async () => incidentTimesOf(incidents));
    return async (at) => changeFailureRate(d, incidents, { at, windowMs: kr.windowMs }, kr.attributionMs, { flags, byRepo, incidentTimes });
  },
  // The incidents listed are the causes: the first incident attributed to each failed deployment.
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const incidents = kr.services.length ? await ctx.events('incident') : null;
    return async (at) => {
      const deployments = explainDeployments(d, flags, incidents, { at, windowMs: kr.windowMs }, kr.attributionMs);
      const causes = new Set(deployments.flatMap((x) => (x.cause?.kind === 'incident' ? [x.cause.incident] : [])));
      const listed = (incidents ?? []).filter((i) => causes.has(i.id)).sort((a, b) => a.createdAt - b.createdAt);
      return { deployments, incidents: listed.map((i) => explainIncident(i, null)) };
    };
  },
  wording: {
    subject: () => 'the change failure rate',
    counterpart: 'deployment frequency (metric: deployment_frequency), so stability does not come from shipping less',
  },
});
