// ci_success_rate, ci_duration and test_coverage (METRICS.md), on hand-built runs with the
// expected values worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import { ciDuration } from '../src/metrics/ci-duration.js';
import { ciSuccessRate, latestAttempts } from '../src/metrics/ci-success-rate.js';
import { testCoverage } from '../src/metrics/test-coverage.js';
import type { CoverageEvent, WorkflowRunEvent } from '../src/core/events.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = Date.parse('2026-11-25T00:00:00Z');
const W = { at: T, windowMs: 7 * DAY };

let nextId = 1;
function run(p: Partial<WorkflowRunEvent> & { createdAt: number }): WorkflowRunEvent {
  const runStartedAt = p.runStartedAt ?? p.createdAt + 20 * SEC;
  return {
    repo: 'acme/payments',
    id: nextId++,
    workflow: 'ci.yml',
    branch: 'main',
    event: 'push',
    status: 'completed',
    conclusion: 'success',
    headSha: 'abc',
    runStartedAt,
    updatedAt: runStartedAt + 10 * MIN,
    runAttempt: 1,
    ...p,
  };
}

describe('ciSuccessRate', () => {
  it('is successes over success + failure + timed_out of completed runs created in (at - W, at]', () => {
    const runs = [
      run({ createdAt: T - DAY }), // success
      run({ createdAt: T - 2 * DAY, conclusion: 'failure' }),
      run({ createdAt: T - 3 * DAY, conclusion: 'timed_out' }),
      run({ createdAt: T }), // at t: counts
      run({ createdAt: T - 7 * DAY + 1 }), // just inside
      run({ createdAt: T - 7 * DAY }), // the window's open end: out
      run({ createdAt: T + 1 }), // after t: out
      run({ createdAt: T - DAY, conclusion: 'cancelled' }), // left out
      run({ createdAt: T - DAY, conclusion: 'skipped' }),
      run({ createdAt: T - DAY, conclusion: 'neutral' }),
      run({ createdAt: T - DAY, conclusion: 'action_required' }),
      run({ createdAt: T - HOUR, status: 'in_progress', conclusion: null }), // not completed
      run({ createdAt: T - HOUR, status: 'queued', conclusion: null }),
    ];
    // counted: success, failure, timed_out, success (at t), success (just inside) -> 3 / 5
    expect(ciSuccessRate(runs, W)).toBe(0.6);
  });

  it('judges a re-run by its latest attempt, and counts the run once', () => {
    const first = run({ createdAt: T - DAY, conclusion: 'failure', runAttempt: 1 });
    const rerun = { ...first, conclusion: 'success', runAttempt: 2, runStartedAt: first.updatedAt + 5 * MIN, updatedAt: first.updatedAt + 15 * MIN };
    const other = run({ createdAt: T - 2 * DAY, conclusion: 'failure' });
    // The stored event is the latest attempt: 1 success of 2.
    expect(ciSuccessRate([rerun, other], W)).toBe(0.5);
    // Both attempts handed in (e.g. pooled twice): still one run, judged by attempt 2.
    expect(ciSuccessRate([first, rerun, other], W)).toBe(0.5);
    expect(ciSuccessRate([rerun, first, other], W)).toBe(0.5);
    expect(latestAttempts([first, rerun])).toEqual([rerun]);
    // A successful run re-run into a failure counts as a failure.
    const again = { ...rerun, conclusion: 'failure', runAttempt: 3 };
    expect(ciSuccessRate([rerun, again, other], W)).toBe(0);
  });

  it('counts ties in created_at as separate runs and pools repositories', () => {
    const a = run({ createdAt: T - DAY });
    const b = run({ createdAt: T - DAY, conclusion: 'failure' });
    const c = { ...run({ createdAt: T - DAY }), repo: 'acme/checkout', id: a.id }; // same id, another repository
    expect(ciSuccessRate([a, b, c], W)).toBeCloseTo(2 / 3, 12);
  });

  it('has no value without a counted run', () => {
    expect(ciSuccessRate([], W)).toBeNull();
    expect(ciSuccessRate([run({ createdAt: T - DAY, conclusion: 'cancelled' }), run({ createdAt: T - 8 * DAY })], W)).toBeNull();
    expect(ciSuccessRate([run({ createdAt: T - DAY, conclusion: 'failure' })], W)).toBe(0); // a real 0
  });
});

describe('ciDuration', () => {
  const dur = (createdAt: number, seconds: number, p: Partial<WorkflowRunEvent> = {}) => {
    const runStartedAt = createdAt + 30 * SEC;
    return run({ createdAt, runStartedAt, updatedAt: runStartedAt + seconds * SEC, ...p });
  };

  it('takes the statistic of updated_at - run_started_at over successful runs in the window, in seconds', () => {
    const runs = [
      dur(T - DAY, 600),
      dur(T - 2 * DAY, 300),
      dur(T - 3 * DAY, 900),
      dur(T, 480), // at t
      dur(T - DAY, 5000, { conclusion: 'failure' }), // not successful
      dur(T - DAY, 7000, { conclusion: 'timed_out' }),
      dur(T - 7 * DAY, 4000), // out of the window
      dur(T + SEC, 4000), // after t
      run({ createdAt: T - HOUR, status: 'in_progress', conclusion: null }),
    ];
    // 300, 480, 600, 900: p50 h = 1.5 -> 480 + 0.5 * 120 = 540; p90 h = 2.7 -> 600 + 0.7 * 300 = 810
    expect(ciDuration(runs, W, 'p50')).toBe(540);
    expect(ciDuration(runs, W, 'p90')).toBeCloseTo(810, 9);
    expect(ciDuration(runs, W, 'mean')).toBe(570); // 2280 / 4
  });

  it('measures a re-run by its latest attempt (run_started_at moves, created_at stays)', () => {
    const created = T - 2 * DAY;
    const rerun = run({ createdAt: created, runAttempt: 2, runStartedAt: created + 2 * HOUR, updatedAt: created + 2 * HOUR + 420 * SEC });
    expect(ciDuration([rerun], W, 'p50')).toBe(420); // not 2 h 7 min
  });

  it('counts equal durations separately', () => {
    expect(ciDuration([dur(T - DAY, 100), dur(T - DAY, 100), dur(T - DAY, 400)], W, 'mean')).toBe(200);
  });

  it('has no value without a successful run in the window', () => {
    expect(ciDuration([], W, 'p50')).toBeNull();
    expect(ciDuration([dur(T - DAY, 100, { conclusion: 'failure' }), dur(T - 9 * DAY, 100)], W, 'p50')).toBeNull();
  });
});

describe('testCoverage', () => {
  const cov = (id: number, runCreatedAt: number, lineRate: number): CoverageEvent => ({
    repo: 'acme/payments',
    id,
    workflow: 'ci.yml',
    branch: 'main',
    runCreatedAt,
    lineRate,
    format: 'lcov',
  });
  const events = [cov(10, T - 3 * DAY, 0.7), cov(30, T - DAY, 0.74), cov(20, T - DAY, 0.75), cov(40, T + HOUR, 0.9)];

  it('is the line rate of the most recent run at or before t, with no window', () => {
    expect(testCoverage(events, T)).toBe(0.74); // tie at T - 1 day: the higher run id (30)
    expect(testCoverage(events, T - DAY)).toBe(0.74); // at exactly its creation
    expect(testCoverage(events, T - DAY - 1)).toBe(0.7);
    expect(testCoverage(events, T + 2 * HOUR)).toBe(0.9);
    expect(testCoverage(events, T + 365 * DAY)).toBe(0.9); // no window: the last report stands
  });

  it('has no value before the first report', () => {
    expect(testCoverage(events, T - 4 * DAY)).toBeNull();
    expect(testCoverage([], T)).toBeNull();
  });
});
