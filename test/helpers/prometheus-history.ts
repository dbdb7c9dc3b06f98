import type { LatencyHistory, LatencyHistorySpec } from '../../connectors/prometheus/sim/latency-history.js';
import { startPrometheusWithHistory as startRunning, type PrometheusWithHistory as RunningHistory } from '../../connectors/prometheus/sim/server.js';

export interface PrometheusWithHistory extends RunningHistory {
  /**
   * What `histogram_quantile(q, sum by (le) (rate(<metric>_bucket{<series' labels>}[<window>])))`
   * gives at `at`, computed from the generated counts (see expectedQuantile below).
   */
  expectedQuantile(q: number, at: number, seriesIndexes?: number[], windowSeconds?: number): number | null;
  /** expectedQuantile(0.99, at) over the first series with a 5m window: the example KR's query. */
  expectedP99(at: number): number | null;
}

/** The product's Prometheus-with-history (connectors/prometheus/sim/server.ts) plus independent expectations. */
export async function startPrometheusWithHistory(spec: LatencyHistorySpec): Promise<PrometheusWithHistory> {
  const running = await startRunning(spec);
  const expectedQuantile = (q: number, at: number, seriesIndexes = [0], windowSeconds = 300): number | null =>
    expectedHistogramQuantile(running.history, q, at, seriesIndexes, windowSeconds);
  return { ...running, expectedQuantile, expectedP99: (at) => expectedQuantile(0.99, at) };
}

/**
 * histogram_quantile(q, sum by (le) (rate(bucket[window]))) at `at`, from the generated counters,
 * independently of Prometheus:
 * - the range selector takes the samples with at - window <= ts <= at (both ends inclusive in
 *   Prometheus 2.x); rate needs two of them;
 * - rate divides each bucket's increase by the same window and multiplies it by the same
 *   extrapolation factor, because all buckets of all series share sample timestamps and no counter
 *   is near zero (the counter-zero clamp of extrapolatedRate only matters in the first window of
 *   the history), and histogram_quantile is invariant under a common scale: so the quantile of the
 *   plain increases is the quantile of the rates. The two differ only by float rounding (~1e-15).
 */
export function expectedHistogramQuantile(history: LatencyHistory, q: number, at: number, seriesIndexes: number[], windowSeconds: number): number | null {
  const first = history.sampleIndexAtOrAfter(at - windowSeconds * 1000);
  const last = history.sampleIndexAtOrBefore(at);
  if (last < 0 || first >= history.samples || last - first < 1) return null; // no rate: empty vector
  const buckets = history.bucketsAt(seriesIndexes[0]!, last).map((b) => ({ upperBound: b.upperBound, count: 0 }));
  for (const s of seriesIndexes) {
    const end = history.bucketsAt(s, last);
    const start = history.bucketsAt(s, first);
    end.forEach((b, i) => (buckets[i]!.count += b.count - start[i]!.count));
  }
  return bucketQuantile(q, buckets);
}

/**
 * Prometheus' bucketQuantile (promql/quantile.go, v2.42) for sorted, cumulative buckets ending with
 * +Inf: find the first bucket whose count reaches rank = q * total and interpolate linearly
 * within it; the +Inf bucket answers with the highest finite bound. NaN when there are no
 * observations (the query then shows NaN, which measurePromql reports as no data).
 */
export function bucketQuantile(q: number, buckets: { upperBound: number; count: number }[]): number {
  const n = buckets.length;
  if (n < 2 || buckets[n - 1]!.upperBound !== Infinity) return Number.NaN;
  const observations = buckets[n - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = buckets.findIndex((x, i) => i < n - 1 && x.count >= rank);
  if (b < 0) b = n - 1;
  if (b === n - 1) return buckets[n - 2]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let start = 0;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return start + (buckets[b]!.upperBound - start) * (rank / count);
}
