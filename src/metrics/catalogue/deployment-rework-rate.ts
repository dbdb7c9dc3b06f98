import { deploymentReworkRate, openIncidentsOf } from '../deployment-rework-rate.js';
import { deploymentStreams, incidentStreams, readDeployments, readIncidents } from './shared.js';
import { explainDeployments } from './explain.js';
import { defineMetric } from './types.js';

export default defineMetric({
  name: 'deployment_rework_rate',
  title: 'Deployment rework rate',
  source: 'github',
  unit: 'ratio',
  better: 'decrease',
  range: 'ratio',
  windowed: true,
  streams: (kr) => [...deploymentStreams(kr), ...incidentStreams(kr)],
  // Rollback flags walk the deployment history; an incident created before the window may still be
  // open in it, so incidents are read from the start too.
  reads(kr, plan) {
    readDeployments(kr, plan, [[-Infinity, plan.hi]]);
    if (kr.services.length) readIncidents(kr, plan, [[-Infinity, plan.hi]]);
  },
  async measure(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const open = kr.services.length ? await ctx.memo('open-incidents', ['incident'], async () => openIncidentsOf(await ctx.events('incident'))) : null;
    return async (at) => deploymentReworkRate(d, null, { at, windowMs: kr.windowMs }, { flags, open });
  },
  // The deployments of the window; `rework` marks those counted (a rollback, or an incident open).
  async explain(kr, ctx) {
    const d = await ctx.deployments();
    const flags = await ctx.rollbackFlags();
    const incidents = kr.services.length ? await ctx.events('incident') : null;
    return async (at) => ({ deployments: explainDeployments(d, flags, incidents, { at, windowMs: kr.windowMs }, kr.attributionMs) });
  },
  wording: {
    subject: () => 'the deployment rework rate',
    counterpart: 'deployment frequency (metric: deployment_frequency), so less rework does not come from shipping less',
  },
});
