import { PROMQL_NO_SERIES } from '../../../connectors/prometheus/promql.js';
import { defineMetric, NotMeasuredError } from './types.js';

export default defineMetric({
  name: 'promql',
  title: 'PromQL query',
  source: 'prometheus',
  // The key result's own `unit:`; its direction and range are whatever the query measures.
  unit: null,
  better: null,
  range: 'any',
  // An instant query at the evaluation time: `window:` does not apply.
  windowed: false,
  requires: ['query'],
  // Read live at evaluation time, not synced into the store.
  streams: () => [],
  reads: () => {},
  async measure(_kr, ctx) {
    const promql = ctx.promql;
    if (!promql) throw new NotMeasuredError('promql needs sources.prometheus; none is configured');
    return promql;
  },
  wording: {
    subject: () => '<what the query measures>',
    counterpart: 'a metric that would get worse if this one were gamed (error rate next to latency, cost next to throughput)',
    noValue: PROMQL_NO_SERIES,
  },
});
