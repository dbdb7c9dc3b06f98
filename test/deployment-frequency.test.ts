import { describe, expect, it } from 'vitest';
import { deploymentFrequency } from '../src/metrics/deployment-frequency.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { DeploymentEvent } from '../src/core/events.js';

const DAY = 86_400_000;
const T = Date.parse('2026-11-25T00:00:00Z');
const ev = (id: number, statusAt: number | null, state: string | null = 'success', repo = 'acme/a', sha = `s${id}`): DeploymentEvent => ({
  repo,
  id,
  sha,
  environment: 'production',
  createdAt: (statusAt ?? T) - 60_000,
  state,
  statusAt,
  statusId: id * 10,
});

describe('successfulDeployments', () => {
  it('keeps deployments whose latest status is success, deployed at that status, ordered by (repo, time, id)', () => {
    const out = successfulDeployments([
      ev(3, T - 1000),
      ev(1, T - 1000),
      ev(2, T - 5000, 'failure'),
      ev(4, null, null),
      ev(5, T - 9000, 'success', 'acme/0'),
    ]);
    expect(out.map((d) => [d.repo, d.id])).toEqual([
      ['acme/0', 5],
      ['acme/a', 1],
      ['acme/a', 3],
    ]);
    expect(out[1]?.deployedAt).toBe(T - 1000);
  });
});

describe('deploymentFrequency', () => {
  const w = { at: T, windowMs: 28 * DAY };

  it('counts successful deployments in (at - W, at] per day', () => {
    const deps = successfulDeployments([
      ev(1, T), // at the end: counts
      ev(2, T - 28 * DAY), // exactly at the start: excluded (half-open window)
      ev(3, T - 28 * DAY + 1), // just inside
      ev(4, T + 1), // after t: not yet
      ev(5, T - DAY, 'failure'),
      ev(6, T - 2 * DAY, 'success', 'acme/b'), // several repositories are pooled
    ]);
    expect(deploymentFrequency(deps, w)).toBeCloseTo(3 / 28, 12);
  });

  it('is 0, a real value, when nothing was deployed', () => {
    expect(deploymentFrequency([], w)).toBe(0);
  });

  it('counts redeploys of the same sha each time', () => {
    const deps = successfulDeployments([ev(1, T - DAY, 'success', 'acme/a', 'abc'), ev(2, T - 2 * DAY, 'success', 'acme/a', 'abc')]);
    expect(deploymentFrequency(deps, { at: T, windowMs: 7 * DAY })).toBeCloseTo(2 / 7, 12);
  });

  it('counts ties in timestamps as separate deployments', () => {
    const deps = successfulDeployments([ev(1, T - 5000), ev(2, T - 5000)]);
    expect(deploymentFrequency(deps, { at: T, windowMs: DAY })).toBe(2);
  });
});
