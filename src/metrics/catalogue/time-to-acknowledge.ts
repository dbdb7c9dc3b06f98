import { timeToAcknowledge } from '../time-to-acknowledge.js';
import { incidentStreams, readIncidents } from './shared.js';
import { defineMetric } from './types.js';
import { explainIncident } from './explain.js';
import { inWindow } from '../window.js';

export default defineMetric({
  name: 'time_to_acknowledge',
  title: 'Time to acknowledge',
  source: 'pagerduty',
  unit: 'seconds',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  streams: incidentStreams,
  reads: (kr, plan) => readIncidents(kr, plan, plan.windows()),
  async measure(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => timeToAcknowledge(i, { at, windowMs: kr.windowMs }, kr.stat);
  },
  async explain(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => ({
      incidents: i
        .filter((x) => x.acknowledgedAt !== null && inWindow(x.createdAt, { at, windowMs: kr.windowMs }))
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((x) => explainIncident(x, (x.acknowledgedAt! - x.createdAt) / 1000)),
    });
  },
  wording: {
    subject: (_kr, stat) => `${stat} time to acknowledge incidents`,
    counterpart: 'time to restore (metric: time_to_restore), so a quick acknowledgement leads to a quick fix',
  },
});
