// Months of request-latency history as a Prometheus histogram, for backfilling a real Prometheus
// (`promtool tsdb create-blocks-from openmetrics`) in tests and the demo. Pure and deterministic:
// the same spec gives the same text and the same counts.
//
// What the generator guarantees (tests rely on it):
// - one sample per series every `stepSeconds`, at from, from + step, ... up to `to` (inclusive when
//   it falls on the grid); every series shares these timestamps.
// - per series: cumulative `_bucket` counters for each finite bound plus `le="+Inf"`, `_count`
//   (= the +Inf bucket) and `_sum`; counters only grow (no resets) and are integers except `_sum`.
// - requests per interval: `requestsPerSecond * stepSeconds`, with a daily cycle of +-`diurnal`.
// - within each interval the latency distribution is built so that histogram_quantile(q, ...) of
//   that interval's bucket increments alone is exactly the target quantile (before rounding the
//   increments to whole requests): the target's bucket holds a mass `alpha` and the cumulative
//   fraction at its lower bound is q - r*alpha, where r is how far the target lies into the bucket
//   (Prometheus interpolates linearly within a bucket). The target moves linearly from
//   `quantileAt.from` to `quantileAt.to` over [from, to]; targets must lie above the first bucket
//   bound and at most the last finite one.
// - the expected value of a PromQL query is computed from `countsAt`, never from the targets.

export interface LatencySeriesSpec {
  /** Labels besides `le`, e.g. `{ service: 'payments' }`. */
  labels: Record<string, string>;
  requestsPerSecond: number;
  /** Target latency quantile (seconds) at `from` and at `to`; linear in between. */
  quantileAt: { from: number; to: number };
}

export interface LatencyHistorySpec {
  series: LatencySeriesSpec[];
  /** Epoch ms of the first sample. */
  from: number;
  /** Epoch ms; the last sample is the last grid point at or before it. */
  to: number;
  stepSeconds: number;
  /** Histogram family name (default `http_request_duration_seconds`). */
  metric?: string;
  /** Finite bucket upper bounds in seconds, ascending (default 0.05 .. 2.5, six bounds). */
  buckets?: number[];
  /** The quantile the targets describe (default 0.99). */
  quantile?: number;
  /** Relative amplitude of the daily request-rate cycle, 0..1 (default 0.3). */
  diurnal?: number;
}

export interface BucketCount {
  /** `le` label value as written (`0.25`, `+Inf`). */
  le: string;
  upperBound: number;
  /** Cumulative count: requests at or below `upperBound` since the history began. */
  count: number;
}

export interface LatencyHistory {
  readonly metric: string;
  readonly series: readonly LatencySeriesSpec[];
  readonly from: number;
  readonly stepSeconds: number;
  /** Number of samples per series. */
  readonly samples: number;
  /** Epoch ms of sample `i`. */
  sampleTime(i: number): number;
  /** Index of the last sample at or before `t` (epoch ms), or -1 before the first one. */
  sampleIndexAtOrBefore(t: number): number;
  /** Index of the first sample at or after `t`, or `samples` after the last one. */
  sampleIndexAtOrAfter(t: number): number;
  /** Cumulative bucket counters of series `s` at sample `i`, ascending bounds ending with +Inf. */
  bucketsAt(s: number, i: number): BucketCount[];
  /** `_count` of series `s` at sample `i` (equals the +Inf bucket). */
  countAt(s: number, i: number): number;
  /** `_sum` (seconds) of series `s` at sample `i`. */
  sumAt(s: number, i: number): number;
  /** The target quantile of series `s` at `t` (seconds): what the data was built to show. */
  targetQuantile(s: number, t: number): number;
  /** The OpenMetrics text, in chunks (one per sample time), ending with `# EOF`. */
  openMetrics(): Generator<string>;
}

export const DEFAULT_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5];
const DAY_MS = 86_400_000;

export function createLatencyHistory(spec: LatencyHistorySpec): LatencyHistory {
  const metric = spec.metric ?? 'http_request_duration_seconds';
  const bounds = [...(spec.buckets ?? DEFAULT_BUCKETS)];
  const q = spec.quantile ?? 0.99;
  const diurnal = spec.diurnal ?? 0.3;
  const stepMs = spec.stepSeconds * 1000;
  validate(spec, bounds, q, diurnal);
  const samples = Math.floor((spec.to - spec.from) / stepMs) + 1;
  const les = [...bounds.map(String), '+Inf'];
  const upper = [...bounds, Infinity];
  const target = (s: number, t: number): number => {
    const { from, to } = spec.series[s]!.quantileAt;
    const x = spec.to === spec.from ? 0 : Math.min(1, Math.max(0, (t - spec.from) / (spec.to - spec.from)));
    return from + (to - from) * x;
  };

  // counts[s][b * samples + i]: cumulative bucket b of series s at sample i; sums[s][i]: _sum.
  const counts: Float64Array[] = [];
  const sums: Float64Array[] = [];
  spec.series.forEach((series, s) => {
    const c = new Float64Array(upper.length * samples);
    const sum = new Float64Array(samples);
    const running = new Array<number>(upper.length).fill(0);
    let runningSum = 0;
    for (let i = 0; i < samples; i++) {
      const t = spec.from + i * stepMs;
      const cycle = 1 + diurnal * Math.sin((2 * Math.PI * (t % DAY_MS)) / DAY_MS);
      const n = Math.round(series.requestsPerSecond * spec.stepSeconds * cycle);
      const fractions = cumulativeFractions(bounds, q, target(s, t));
      let below = 0;
      for (let b = 0; b < upper.length; b++) {
        // Rounding a non-decreasing fraction keeps the buckets cumulative; +Inf gets all n.
        const inBucketOrBelow = Math.round(fractions[b]! * n);
        const lower = b === 0 ? 0 : bounds[b - 1]!;
        // Requests in this bucket are given its midpoint (the +Inf bucket: twice the last bound).
        const representative = b < bounds.length ? (lower + bounds[b]!) / 2 : 2 * bounds[bounds.length - 1]!;
        runningSum += (inBucketOrBelow - below) * representative;
        below = inBucketOrBelow;
        running[b]! += inBucketOrBelow;
        c[b * samples + i] = running[b]!;
      }
      sum[i] = runningSum;
    }
    counts.push(c);
    sums.push(sum);
  });

  const checkIndex = (s: number, i: number): void => {
    if (!Number.isInteger(s) || s < 0 || s >= spec.series.length) throw new RangeError(`series index ${s} is outside 0..${spec.series.length - 1}`);
    if (!Number.isInteger(i) || i < 0 || i >= samples) throw new RangeError(`sample index ${i} is outside 0..${samples - 1}`);
  };

  return {
    metric,
    series: spec.series,
    from: spec.from,
    stepSeconds: spec.stepSeconds,
    samples,
    sampleTime: (i) => spec.from + i * stepMs,
    sampleIndexAtOrBefore: (t) => Math.max(-1, Math.min(samples - 1, Math.floor((t - spec.from) / stepMs))),
    sampleIndexAtOrAfter: (t) => Math.max(0, Math.min(samples, Math.ceil((t - spec.from) / stepMs))),
    bucketsAt(s, i) {
      checkIndex(s, i);
      return upper.map((upperBound, b) => ({ le: les[b]!, upperBound, count: counts[s]![b * samples + i]! }));
    },
    countAt(s, i) {
      checkIndex(s, i);
      return counts[s]![(upper.length - 1) * samples + i]!;
    },
    sumAt(s, i) {
      checkIndex(s, i);
      return sums[s]![i]!;
    },
    targetQuantile: target,
    *openMetrics() {
      yield `# HELP ${metric} Request latency (simulated by kr-tracker).\n# TYPE ${metric} histogram\n`;
      const prefixes = spec.series.map((series) => Object.entries(series.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`));
      const bucketLabels = prefixes.map((p) => les.map((le) => `{${[...p, `le="${le}"`].join(',')}}`));
      const plainLabels = prefixes.map((p) => (p.length ? `{${p.join(',')}}` : ''));
      for (let i = 0; i < samples; i++) {
        // OpenMetrics timestamps are seconds; `from` and the step are whole seconds here.
        const ts = String((spec.from + i * stepMs) / 1000);
        let chunk = '';
        for (let s = 0; s < spec.series.length; s++) {
          for (let b = 0; b < upper.length; b++) chunk += `${metric}_bucket${bucketLabels[s]![b]} ${counts[s]![b * samples + i]} ${ts}\n`;
          chunk += `${metric}_count${plainLabels[s]} ${counts[s]![(upper.length - 1) * samples + i]} ${ts}\n`;
          chunk += `${metric}_sum${plainLabels[s]} ${sums[s]![i]} ${ts}\n`;
        }
        yield chunk;
      }
      yield '# EOF\n';
    },
  };
}

/**
 * Cumulative fraction of one interval's requests at or below each bound (the last entry, +Inf, is
 * 1) such that linear interpolation within the target's bucket, as histogram_quantile does it,
 * gives exactly `target` for quantile `q`.
 */
export function cumulativeFractions(bounds: readonly number[], q: number, target: number): number[] {
  const k = bounds.findIndex((b) => target <= b);
  // In the first bucket histogram_quantile interpolates from 0 with nothing below, so only targets
  // near its bound are reachable; keep the target above the first bound.
  if (k < 1) throw new RangeError(`target quantile ${target}s must lie in (${bounds[0]}, ${bounds[bounds.length - 1]}] (above the first bucket, within the finite buckets)`);
  const lo = bounds[k - 1]!;
  const r = (target - lo) / (bounds[k]! - lo);
  // The target bucket holds alpha of the requests; small enough that F(hi) = q + (1-r)*alpha < 1.
  const alpha = (1 - q) * 0.9;
  const atLo = q - r * alpha;
  const atHi = atLo + alpha;
  const tail = 1 - atHi;
  return [
    ...bounds.map((_, j) => {
      if (j < k) return (atLo * (j + 1)) / k; // the fast body, spread evenly up to the target's bucket
      if (j === k) return atHi;
      return 1 - tail / 2 ** (j - k); // the slow tail halves with each bucket
    }),
    1,
  ];
}

function validate(spec: LatencyHistorySpec, bounds: number[], q: number, diurnal: number): void {
  const problems: string[] = [];
  if (!Number.isFinite(spec.from) || !Number.isFinite(spec.to) || spec.to < spec.from) problems.push(`from ${spec.from} / to ${spec.to} must be epoch ms with from <= to`);
  if (!Number.isInteger(spec.stepSeconds) || spec.stepSeconds <= 0) problems.push(`stepSeconds ${spec.stepSeconds} must be a positive whole number`);
  if (spec.from % 1000 !== 0) problems.push(`from ${spec.from} must be a whole second`);
  if (!bounds.length || bounds.some((b, i) => !(b > 0) || !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) problems.push(`buckets ${JSON.stringify(bounds)} must be positive, finite and ascending`);
  if (!(q > 0 && q < 1)) problems.push(`quantile ${q} must lie in (0, 1)`);
  if (!(diurnal >= 0 && diurnal < 1)) problems.push(`diurnal ${diurnal} must lie in [0, 1)`);
  if (!spec.series.length) problems.push('series must not be empty');
  spec.series.forEach((s, i) => {
    if ('le' in s.labels) problems.push(`series[${i}].labels must not contain le`);
    if (!(s.requestsPerSecond > 0)) problems.push(`series[${i}].requestsPerSecond ${s.requestsPerSecond} must be positive`);
    for (const v of [s.quantileAt.from, s.quantileAt.to]) {
      if (!(v > bounds[0]! && v <= bounds[bounds.length - 1]!)) problems.push(`series[${i}].quantileAt ${v} must lie in (${bounds[0]}, ${bounds[bounds.length - 1]}] (above the first bucket)`);
    }
  });
  if (problems.length) throw new RangeError(`invalid latency history: ${problems.join('; ')}`);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
