// The `promql` metric (docs/metrics.md): the value of an instant query at t. One
// series is required unless the key result names an aggregation, so that a query that silently
// matches several services never reports one of them at random.
import { SourceError } from '../../src/core/errors.js';
import { notInstant, type PrometheusClient, type PromSample } from './client.js';

/** What a key result says when its query gives nothing to read (an empty vector, or only NaN/Inf). */
export const PROMQL_NO_SERIES =
  'the Prometheus query returned no series (or only NaN) at this instant; run it in the Prometheus expression browser and check the metric names and labels';

export type PromqlAggregate = 'sum' | 'avg' | 'min' | 'max';

/**
 * The number a promql key result shows at `at` (epoch ms), or null for no data: an empty vector,
 * or NaN/Inf (e.g. histogram_quantile over zero requests, a division by zero).
 * With `aggregate`, non-finite samples are left out before aggregating (one idle series does not
 * erase the others); when none is left the result is null.
 */
export async function measurePromql(
  client: Pick<PrometheusClient, 'query'>,
  query: string,
  aggregate: PromqlAggregate | null,
  at: number,
): Promise<number | null> {
  const result = await client.query(query, at);
  switch (result.resultType) {
    case 'scalar':
      return finite(result.value);
    case 'matrix':
    case 'string':
      throw notInstant(result.resultType, query);
    case 'vector':
      return fromVector(result.samples, query, aggregate);
  }
}

function fromVector(samples: PromSample[], query: string, aggregate: PromqlAggregate | null): number | null {
  if (samples.length === 0) return null;
  if (samples.length === 1) return finite(samples[0]!.value);
  if (aggregate === null) {
    const shown = samples.slice(0, 3).map((s) => labelSet(s.metric));
    const more = samples.length > 3 ? `, ... (${samples.length - 3} more)` : '';
    throw new SourceError(
      `Prometheus query returned ${samples.length} series (${shown.join(', ')}${more}) where a key result needs one number; add aggregate: sum (or avg, min, max) to the key result, or aggregate in PromQL, e.g. sum(...)\n  query: ${query}`,
      'prometheus',
      false,
    );
  }
  const values = samples.map((s) => s.value).filter(Number.isFinite);
  if (values.length === 0) return null;
  switch (aggregate) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
  }
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** `{service="payments", le="0.5"}`, as Prometheus shows a series. */
function labelSet(metric: Record<string, string>): string {
  const { __name__: name, ...rest } = metric;
  const inner = Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return `${name ?? ''}{${inner}}`;
}
