/** The statistic a duration metric reports over its values (`stat:` of a key result). */
export const STATS = ['p50', 'p75', 'p90', 'p95', 'p99', 'mean'] as const;
export type Stat = (typeof STATS)[number];

/** Type-7 quantile (linear interpolation between closest ranks) of METRICS.md; null when empty. */
export function quantile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const xs = [...values].sort((a, b) => a - b);
  const h = (xs.length - 1) * p;
  const lo = Math.floor(h);
  const a = xs[lo] as number;
  const b = xs[Math.min(lo + 1, xs.length - 1)] as number;
  return a + (h - lo) * (b - a);
}

export function statistic(values: readonly number[], stat: Stat): number | null {
  if (values.length === 0) return null;
  if (stat === 'mean') return values.reduce((s, v) => s + v, 0) / values.length;
  return quantile(values, Number(stat.slice(1)) / 100);
}
