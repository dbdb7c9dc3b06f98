import { timeToRestore } from '../time-to-restore.js';
import { incidentStreams, readIncidents } from './shared.js';
import { defineMetric } from './types.js';
import { explainIncident } from './explain.js';
import { inWindow } from '../window.js';

export default defineMetric({
  name: 'time_to_restore',
  title: 'Time to restore service',
  source: 'pagerduty',
  unit: 'seconds',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  streams: incidentStreams,
  // Incidents are indexed by creation and counted at resolution: every one created before the instant.
  reads: (kr, plan) => readIncidents(kr, plan, [[-Infinity, plan.hi]]),
  async measure(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => timeToRestore(i, { at, windowMs: kr.windowMs }, kr.stat);
  },
  async explain(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => ({
      incidents: i
        .filter((x) => x.resolvedAt !== null && inWindow(x.resolvedAt, { at, windowMs: kr.windowMs }))
        .sort((a, b) => a.resolvedAt! - b.resolvedAt!)
        .map((x) => explainIncident(x, (x.resolvedAt! - x.createdAt) / 1000)),
    });
  },
  wording: {
    subject: (_kr, stat) => `${stat} time to restore service`,
    counterpart: 'the incident count (metric: incident_count), so faster recovery goes with fewer incidents',
  },
});
