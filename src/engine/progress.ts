// OKR semantics of METRICS.md "From value to key result", as pure functions of numbers and time.
import type { Bands, Period, TargetSpec } from '../config/types.js';
import type { Kind } from '../core/result.js';
import type { Status } from '../core/result.js';

// Gaps such as 0.35 - 0.25 are 0.09999999999999998 in binary floating point; a tolerance keeps a
// gap that is exactly on a band edge on the side METRICS.md gives it (`gap <= 0.10` is on track).
const EPSILON = 1e-9;

export const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** Absolute target: the number, or the baseline moved by the relative ratio (`-30%`). */
export function resolveTarget(target: TargetSpec, baseline: number | null): number | null {
  if (target.type === 'absolute') return target.value;
  return baseline === null ? null : baseline * (1 + target.ratio);
}

/** The configured kind, else `increase` when target > baseline, else `decrease`. */
export function resolveKind(kind: Kind | null, baseline: number | null, target: number | null): Kind | null {
  if (kind) return kind;
  if (baseline === null || target === null) return null;
  return target > baseline ? 'increase' : 'decrease';
}

/** clamp((current - baseline) / (target - baseline), 0, 1); maintain kinds: 1 while the threshold holds. */
export function progressOf(kind: Kind, value: number, baseline: number | null, target: number): number | null {
  switch (kind) {
    case 'maintain_above':
      return value >= target ? 1 : 0;
    case 'maintain_below':
      return value <= target ? 1 : 0;
    default:
      if (baseline === null || target === baseline) return null;
      return clamp01((value - baseline) / (target - baseline));
  }
}

/** The straight trajectory to the deadline: clamp((t - start) / (end - start), 0, 1). */
export function expectedProgress(period: Period, at: number): number {
  return clamp01((at - period.start) / (period.end - period.start));
}

export function statusOf(args: {
  kind: Kind;
  progress: number | null;
  expected: number;
  bands: Bands;
  periodEnded: boolean;
}): Status {
  const { kind, progress, expected, bands, periodEnded } = args;
  if (progress === null) return 'no_data';
  const maintain = kind === 'maintain_above' || kind === 'maintain_below';
  if (maintain) {
    if (progress < 1) return 'off_track';
    return periodEnded ? 'achieved' : 'on_track';
  }
  if (progress >= 1) return 'achieved';
  const gap = expected - progress;
  if (gap <= bands.atRisk + EPSILON) return 'on_track';
  if (gap <= bands.offTrack + EPSILON) return 'at_risk';
  return 'off_track';
}

/**
 * The one forecast rule (engine, metrics, dashboards and alert texts follow it): no forecast from
 * fewer than this many values recorded in the period. Two points always lie on a line, so a
 * forecast from them would extrapolate noise.
 */
export const MIN_FORECAST_POINTS = 3;

/** `no forecast yet: it needs 3 values recorded in the period`: what texts say when forecastAt gave null. */
export const NO_FORECAST_TEXT = `no forecast yet: it needs ${MIN_FORECAST_POINTS} values recorded in the period`;

/**
 * Least-squares line through (at, value) points, read at `end`; null with fewer than
 * MIN_FORECAST_POINTS points or when they all share one instant.
 */
export function forecastAt(points: readonly { at: number; value: number }[], end: number): number | null {
  if (points.length < MIN_FORECAST_POINTS) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.at, 0) / n;
  const my = points.reduce((s, p) => s + p.value, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.at - mx) ** 2;
    sxy += (p.at - mx) * (p.value - my);
  }
  if (sxx === 0) return null;
  return my + (sxy / sxx) * (end - mx);
}

/** End-of-period score: progress rounded to one decimal (OKR 0.0-1.0 grading). */
export function scoreOf(progress: number): number {
  return Math.round(progress * 10) / 10;
}
