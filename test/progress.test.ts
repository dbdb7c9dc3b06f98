import { describe, expect, it } from 'vitest';
import { expectedProgress, forecastAt, progressOf, resolveKind, resolveTarget, scoreOf, statusOf } from '../src/engine/progress.js';

const bands = { atRisk: 0.1, offTrack: 0.25 };
const period = { start: Date.parse('2026-10-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') };

describe('targets and kinds', () => {
  it('resolves relative targets against the baseline', () => {
    expect(resolveTarget({ type: 'relative', ratio: -0.3 }, 0.5)).toBeCloseTo(0.35, 12);
    expect(resolveTarget({ type: 'relative', ratio: 0.5 }, 2)).toBe(3);
    expect(resolveTarget({ type: 'relative', ratio: 0.5 }, null)).toBeNull();
    expect(resolveTarget({ type: 'absolute', value: 1 }, null)).toBe(1);
  });
  it('infers the direction', () => {
    expect(resolveKind(null, 0.2, 1)).toBe('increase');
    expect(resolveKind(null, 1200, 600)).toBe('decrease');
    expect(resolveKind('maintain_below', null, 0.01)).toBe('maintain_below');
    expect(resolveKind(null, null, 1)).toBeNull();
  });
});

describe('progress', () => {
  it('is (current - baseline) / (target - baseline), clamped', () => {
    expect(progressOf('increase', 0.6, 0.2, 1)).toBeCloseTo(0.5, 12);
    expect(progressOf('increase', 2, 0.2, 1)).toBe(1);
    expect(progressOf('increase', 0.1, 0.2, 1)).toBe(0);
    expect(progressOf('decrease', 900, 1200, 600)).toBeCloseTo(0.5, 12);
  });
  it('is 1 or 0 for maintain kinds', () => {
    expect(progressOf('maintain_below', 0.01, null, 0.01)).toBe(1);
    expect(progressOf('maintain_below', 0.011, null, 0.01)).toBe(0);
    expect(progressOf('maintain_above', 0.99, null, 0.99)).toBe(1);
  });
  it('expected progress is the straight trajectory', () => {
    expect(expectedProgress(period, period.start)).toBe(0);
    expect(expectedProgress(period, (period.start + period.end) / 2)).toBe(0.5);
    expect(expectedProgress(period, period.end + 1)).toBe(1);
    expect(expectedProgress(period, period.start - 1)).toBe(0);
  });
});

describe('status bands, at their boundaries', () => {
  const s = (progress: number | null, expected: number, kind: 'increase' | 'maintain_below' = 'increase', periodEnded = false) =>
    statusOf({ kind, progress, expected, bands, periodEnded });
  it.each([
    [0.5, 0.6, 'on_track'], // gap exactly 0.10
    [0.25, 0.35, 'on_track'], // 0.35 - 0.25 is 0.0999... in floating point
    [0.5, 0.6001, 'at_risk'],
    [0.5, 0.75, 'at_risk'], // gap exactly 0.25
    [0.5, 0.7501, 'off_track'],
    [1, 0.2, 'achieved'],
    [0.9, 0.2, 'on_track'],
  ] as const)('progress %s, expected %s -> %s', (progress, expected, status) => {
    expect(s(progress, expected)).toBe(status);
  });
  it('no progress is no_data', () => expect(s(null, 0.5)).toBe('no_data'));
  it('maintain kinds: on track while holding, achieved only at the end, off track when broken', () => {
    expect(s(1, 0.5, 'maintain_below')).toBe('on_track');
    expect(s(1, 1, 'maintain_below', true)).toBe('achieved');
    expect(s(0, 0.1, 'maintain_below')).toBe('off_track');
  });
  it('honours configured bands', () => {
    expect(statusOf({ kind: 'increase', progress: 0.5, expected: 0.6, bands: { atRisk: 0.05, offTrack: 0.08 }, periodEnded: false })).toBe('off_track');
  });
});

describe('forecast and score', () => {
  it('reads the least-squares line at the end', () => {
    // y = 2x + 1 exactly
    expect(forecastAt([{ at: 0, value: 1 }, { at: 1, value: 3 }, { at: 2, value: 5 }], 10)).toBeCloseTo(21, 9);
    // noisy points: slope 0.5, intercept 1/6 by hand (x 0..3, y 0,1,1,2 -> mean x 1.5, mean y 1, sxy 2.5... )
    expect(forecastAt([{ at: 0, value: 0 }, { at: 1, value: 1 }, { at: 2, value: 1 }, { at: 3, value: 2 }], 4)).toBeCloseTo(1 + 0.6 * 2.5, 9);
    expect(forecastAt([{ at: 0, value: 1 }], 10)).toBeNull();
    // One rule everywhere: two points always lie on a line, so no forecast from fewer than three.
    expect(forecastAt([{ at: 0, value: 1 }, { at: 1, value: 3 }], 10)).toBeNull();
    expect(forecastAt([{ at: 5, value: 1 }, { at: 5, value: 2 }, { at: 5, value: 3 }], 10)).toBeNull();
  });
  it('score rounds progress to one decimal', () => {
    expect(scoreOf(0.74)).toBe(0.7);
    expect(scoreOf(0.75)).toBe(0.8);
    expect(scoreOf(1)).toBe(1);
  });
});
