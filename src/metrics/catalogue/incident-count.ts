import { incidentCount } from '../incident-count.js';
import { incidentStreams, readIncidents } from './shared.js';
import { defineMetric } from './types.js';
import { explainIncident } from './explain.js';
import { inWindow } from '../window.js';

export default defineMetric({
  name: 'incident_count',
  title: 'Incident count',
  source: 'pagerduty',
  unit: 'count',
  better: 'decrease',
  range: 'non_negative',
  windowed: true,
  streams: incidentStreams,
  reads: (kr, plan) => readIncidents(kr, plan, plan.windows()),
  async measure(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => incidentCount(i, { at, windowMs: kr.windowMs }, kr.urgency);
  },
  async explain(kr, ctx) {
    const i = await ctx.events('incident');
    return async (at) => ({
      incidents: i
        .filter((x) => inWindow(x.createdAt, { at, windowMs: kr.windowMs }) && (kr.urgency === null || x.urgency === kr.urgency))
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((x) => explainIncident(x, null)),
    });
  },
  wording: {
    subject: (kr) => (kr.urgency === 'high' ? 'high-urgency incidents' : 'incidents'),
    counterpart: 'time to restore (metric: time_to_restore), so the incidents that remain are short',
  },
});
