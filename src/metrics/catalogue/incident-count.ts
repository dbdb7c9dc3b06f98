import { incidentCount } from '../incident-count.js';
import { incidentStreams, readIncidents } from './shared.js';
import { defineMetric } from './types.js';

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
  wording: {
    subject: (kr) => (kr.urgency === 'high' ? 'high-urgency incidents' : 'incidents'),
    counterpart: 'time to restore (metric: time_to_restore), so the incidents that remain are short',
  },
});
