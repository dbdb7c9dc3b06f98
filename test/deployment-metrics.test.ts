import { describe, expect, it } from 'vitest';
import type { Stat } from '../src/metrics/quantile.js';
import { changeFailureRate } from '../src/metrics/change-failure-rate.js';
import { deploymentsFromRuns } from '../src/metrics/deployments-from-runs.js';
import { leadTimeForChanges } from '../src/metrics/lead-time.js';
import { rollbackRate } from '../src/metrics/rollback-rate.js';
import { rollbackFlags } from '../src/metrics/rollbacks.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { CompareEvent, Deployment, DeploymentEvent, IncidentEvent, WorkflowRunEvent } from '../src/core/events.js';

const H = 3_600_000;
const DAY = 24 * H;
const T = Date.parse('2026-11-25T00:00:00Z');

const dep = (repo: string, id: number, sha: string, deployedAt: number): Deployment => ({ repo, id, sha, deployedAt });
const incident = (id: string, createdAt: number): IncidentEvent => ({
  service: 'PSVC1',
  id,
  createdAt,
  resolvedAt: createdAt + H,
  acknowledgedAt: null,
  urgency: 'high',
  status: 'resolved',
});
const compare = (repo: string, base: string, head: string, commits: [string, number][]): CompareEvent => ({
  repo,
  id: `${base}...${head}`,
  base,
  head,
  commits: commits.map(([sha, committedAt]) => ({ sha, committedAt })),
});

describe('rollbackFlags', () => {
  // acme/a: s1, s2, s2 (redeploy), s1 (rollback), s1 (redeploy), s3, s2 (rollback to an older one),
  // then two at the same instant: id 8 (s4) before id 9 (s3, a rollback).
  const a = [
    dep('acme/a', 1, 's1', T - 10 * H),
    dep('acme/a', 2, 's2', T - 9 * H),
    dep('acme/a', 3, 's2', T - 8 * H),
    dep('acme/a', 4, 's1', T - 7 * H),
    dep('acme/a', 5, 's1', T - 6 * H),
    dep('acme/a', 6, 's3', T - 5 * H),
    dep('acme/a', 7, 's2', T - 4 * H),
    dep('acme/a', 9, 's3', T - 3 * H),
    dep('acme/a', 8, 's4', T - 3 * H),
  ];
  // acme/b deploys shas acme/a deployed: repositories are separate histories.
  const b = [dep('acme/b', 1, 's2', T - 2 * H), dep('acme/b', 2, 's1', T - H)];

  it('flags returns to an older sha, not redeploys of the running one, and not the first deployment', () => {
    const flags = rollbackFlags([...b, ...a].reverse());
    expect([...flags.entries()].filter(([, v]) => v).map(([k]) => k).sort()).toEqual(['acme/a#4', 'acme/a#7', 'acme/a#9']);
    expect(flags.size).toBe(a.length + b.length);
    expect(flags.get('acme/a#1')).toBe(false);
    expect(flags.get('acme/a#3')).toBe(false); // redeploy of s2
    expect(flags.get('acme/a#5')).toBe(false); // redeploy right after the rollback to s1
    expect(flags.get('acme/b#2')).toBe(false); // s1 was deployed in acme/a only
  });

  it('orders ties in deployed_at by id', () => {
    const flags = rollbackFlags([dep('r', 2, 'x', T), dep('r', 1, 'y', T), dep('r', 3, 'x', T)]);
    // order 1 (y), 2 (x), 3 (x): 3 is a redeploy of x, not a rollback
    expect(flags.get('r#2')).toBe(false);
    expect(flags.get('r#3')).toBe(false);
    const flags2 = rollbackFlags([dep('r', 1, 'x', T), dep('r', 2, 'y', T), dep('r', 3, 'x', T)]);
    expect(flags2.get('r#3')).toBe(true);
  });

  it('a deployment whose last status is failure is no deployment: a retry after it is no rollback', () => {
    const ev = (id: number, sha: string, at: number, state: string): DeploymentEvent => ({
      repo: 'acme/a',
      id,
      sha,
      environment: 'production',
      createdAt: at - 60_000,
      state,
      statusAt: at,
      statusId: id,
    });
    const deps = successfulDeployments([ev(1, 's1', T - 3 * H, 'success'), ev(2, 's2', T - 2 * H, 'failure'), ev(3, 's1', T - H, 'success'), ev(4, 's2', T, 'success')]);
    expect(deps.map((d) => d.id)).toEqual([1, 3, 4]);
    expect([...rollbackFlags(deps).values()]).toEqual([false, false, false]);
  });
});

describe('rollbackRate', () => {
  const deps = [
    dep('acme/a', 1, 's1', T - 10 * H),
    dep('acme/a', 2, 's2', T - 9 * H),
    dep('acme/a', 3, 's1', T - 8 * H), // rollback, before the window
    dep('acme/a', 4, 's3', T - 5 * H), // exactly at the window start: excluded
    dep('acme/a', 5, 's2', T - 4 * H), // rollback
    dep('acme/a', 6, 's4', T - 3 * H),
    dep('acme/a', 7, 's4', T - 2 * H), // redeploy
    dep('acme/b', 1, 'x1', T - H),
    dep('acme/b', 2, 'x2', T - H / 2),
    dep('acme/b', 3, 'x1', T + H), // rollback after t: not in the window
  ];

  it('is rollbacks in the window over successful deployments in the window, repositories pooled', () => {
    expect(rollbackRate(deps, { at: T, windowMs: 5 * H })).toBeCloseTo(1 / 5, 12);
    // the rollback before the window is judged from the history before it
    expect(rollbackRate(deps, { at: T - 8 * H, windowMs: H })).toBe(1);
    // (T - 2h, T + H]: b#1, b#2 and b#3, the rollback at T + 1h
    expect(rollbackRate(deps, { at: T + H, windowMs: 3 * H })).toBeCloseTo(1 / 3, 12);
  });

  it('is 0 with deployments and no rollbacks, and null (no data) without deployments', () => {
    expect(rollbackRate(deps, { at: T - 9 * H, windowMs: 2 * H })).toBe(0);
    expect(rollbackRate(deps, { at: T - 20 * H, windowMs: 2 * H })).toBeNull();
    expect(rollbackRate([], { at: T, windowMs: DAY })).toBeNull();
  });
});

describe('changeFailureRate', () => {
  const w = { at: T, windowMs: 7 * DAY };

  it('without services: D failed when the next deployment is a rollback, even one after t', () => {
    const deps = [
      dep('acme/a', 1, 's1', T - 5 * H),
      dep('acme/a', 2, 's2', T - 4 * H), // failed: 3 rolls it back
      dep('acme/a', 3, 's1', T - 3 * H),
      dep('acme/a', 4, 's3', T - 2 * H),
      dep('acme/a', 5, 's3', T - H), // redeploy: does not fail 4
    ];
    expect(changeFailureRate(deps, null, w, DAY)).toBeCloseTo(1 / 5, 12);
    // only deployment 2 is in the window; the rollback after t still counts
    expect(changeFailureRate(deps, null, { at: T - 3.5 * H, windowMs: H }, DAY)).toBe(1);
    // incidents given but none: the rollback rule alone
    expect(changeFailureRate(deps, [], w, DAY)).toBeCloseTo(1 / 5, 12);
  });

  it('counts incidents in [D, min(next, D + attribution)): start included, end excluded, cut by the next deployment', () => {
    const deps = [
      dep('acme/a', 1, 's1', T - 48 * H),
      dep('acme/a', 2, 's2', T - 20 * H), // its 24h reach [T-20h, T+4h) is cut at T-2h by 3
      dep('acme/a', 3, 's3', T - 2 * H),
    ];
    expect(changeFailureRate(deps, [incident('A', T - 48 * H)], w, DAY)).toBeCloseTo(1 / 3, 12); // at D1 exactly
    expect(changeFailureRate(deps, [incident('B', T - 48 * H - 1)], w, DAY)).toBe(0); // just before D1
    expect(changeFailureRate(deps, [incident('C', T - 24 * H)], w, DAY)).toBe(0); // D1 + 24h: attribution over
    expect(changeFailureRate(deps, [incident('D', T - 24 * H - 1)], w, DAY)).toBeCloseTo(1 / 3, 12);
    expect(changeFailureRate(deps, [incident('E', T - 2 * H)], w, DAY)).toBeCloseTo(1 / 3, 12); // D3's, not D2's
    expect(changeFailureRate(deps, [incident('E', T - 2 * H - 1)], w, DAY)).toBeCloseTo(1 / 3, 12); // D2's
    // attribution is a knob
    expect(changeFailureRate(deps, [incident('F', T - 20 * H + H)], w, H)).toBe(0);
    expect(changeFailureRate(deps, [incident('F', T - 20 * H + H - 1)], w, H)).toBeCloseTo(1 / 3, 12);
    // one incident fails D only once; two incidents for one deployment fail it once
    expect(changeFailureRate(deps, [incident('G', T - 47 * H), incident('H', T - 46 * H)], w, DAY)).toBeCloseTo(1 / 3, 12);
  });

  it('incidents after t count (METRICS.md: everything the source shows)', () => {
    const deps = [dep('acme/a', 1, 's1', T - H)];
    expect(changeFailureRate(deps, [incident('A', T + 22 * H)], w, DAY)).toBe(1);
    expect(changeFailureRate(deps, [incident('A', T + 23 * H)], w, DAY)).toBe(0);
  });

  it('pools repositories: an incident of the KR services can fail a deployment of each', () => {
    const deps = [
      dep('acme/a', 1, 's1', T - 3 * H),
      dep('acme/a', 2, 's2', T - 2 * H),
      dep('acme/b', 1, 's1', T - 5 * H),
      dep('acme/b', 2, 's1', T - 4 * H), // redeploy
    ];
    // T - 1h: after a#2 (failed) and after b#2 (failed, the last of b); a#1 is cut at a#2
    expect(changeFailureRate(deps, [incident('X', T - H)], w, DAY)).toBeCloseTo(2 / 4, 12);
  });

  it('with tied deployment times the earlier (by id) has an empty attribution window', () => {
    const deps = [dep('acme/a', 2, 's2', T - H), dep('acme/a', 1, 's1', T - H)];
    expect(changeFailureRate(deps, [incident('X', T - H)], w, DAY)).toBeCloseTo(1 / 2, 12);
  });

  it('is null (no data) without deployments in the window', () => {
    expect(changeFailureRate([], [incident('X', T)], w, DAY)).toBeNull();
    expect(changeFailureRate([dep('acme/a', 1, 's1', T - 8 * DAY)], null, w, DAY)).toBeNull();
  });
});

describe('leadTimeForChanges', () => {
  const T0 = T - 10 * DAY;
  // acme/a: c1 deployed first (no previous: no changes), then c3 (changes c2, c3), a rollback to
  // c1 (behind: none), c5 (the compare lists c2..c5; c2, c3 shipped before: changes c4, c5), and a
  // redeploy of c5 (none).
  const a = [
    dep('acme/a', 1, 'c1', T0 - H),
    dep('acme/a', 2, 'c3', T0 + 4 * H),
    dep('acme/a', 3, 'c1', T0 + 5 * H),
    dep('acme/a', 4, 'c5', T0 + 10 * H),
    dep('acme/a', 5, 'c5', T0 + 12 * H),
  ];
  const ac = [
    compare('acme/a', 'c1', 'c3', [['c2', T0], ['c3', T0 + 2 * H]]),
    compare('acme/a', 'c3', 'c1', []),
    compare('acme/a', 'c1', 'c5', [['c2', T0], ['c3', T0 + 2 * H], ['c4', T0 + 5 * H], ['c5', T0 + 6 * H]]),
    compare('acme/a', 'c5', 'c5', []),
  ];
  // lead times: c2 4h, c3 2h, c4 5h, c5 4h -> [7200, 14400, 14400, 18000] s
  const w = { at: T, windowMs: 28 * DAY };

  it.each<[Stat, number]>([
    ['p50', 14400],
    ['p75', 15300],
    ['p90', 16920],
    ['p95', 17460],
    ['p99', 17892],
    ['mean', 13500],
  ])('%s over the changes of every deployment in the window', (stat, want) => {
    expect(leadTimeForChanges(a, ac, w, stat)).toBeCloseTo(want, 9);
  });

  it('a commit counts once, at its first deployment, even when that one is before the window', () => {
    // window (T0 + 6h, T]: only deployment 4's new commits c4 (5h) and c5 (4h)
    expect(leadTimeForChanges(a, ac, { at: T, windowMs: T - (T0 + 6 * H) }, 'p50')).toBeCloseTo(16200, 9);
    // window (T0 + 4.5h, T0 + 6h]: the rollback alone, no changes
    expect(leadTimeForChanges(a, ac, { at: T0 + 6 * H, windowMs: 1.5 * H }, 'p50')).toBeNull();
  });

  it('pools repositories and orders ties by id', () => {
    const b = [dep('acme/b', 4, 'x3', T0 + 2 * H), dep('acme/b', 2, 'x2', T0 + H), dep('acme/b', 3, 'x1', T0 + 2 * H), dep('acme/b', 1, 'x1', T0)];
    // order: 1 (x1), 2 (x2), 3 (x1, rollback), 4 (x3; x3 and 4 tie, id breaks it)
    const bc = [
      compare('acme/b', 'x1', 'x2', [['x2', T0 + H / 2]]), // 1800 s
      compare('acme/b', 'x2', 'x1', []),
      compare('acme/b', 'x1', 'x3', [['x2', T0 + H / 2], ['x3', T0 + 1.75 * H]]), // x3: 900 s
      compare('acme/b', 'x3', 'x1', [['wrong', T0]]), // the pair (4 -> 3) that id order rules out
    ];
    // pooled: [900, 1800, 7200, 14400, 14400, 18000]
    expect(leadTimeForChanges([...b, ...a], [...bc, ...ac], w, 'p50')).toBeCloseTo(10800, 9);
    expect(leadTimeForChanges([...b, ...a], [...bc, ...ac], w, 'mean')).toBeCloseTo(56700 / 6, 9);
    // compares are per repository: acme/a's compare of the same shas does not serve acme/b
    expect(leadTimeForChanges(b, ac.map((c) => ({ ...c, repo: 'acme/b' })), w, 'p50')).toBeNull();
  });

  it('is null with nothing to measure: no deployments, only a first one, only redeploys, deployments after t', () => {
    expect(leadTimeForChanges([], [], w, 'p50')).toBeNull();
    expect(leadTimeForChanges([dep('acme/a', 1, 'c1', T - H)], ac, w, 'p50')).toBeNull();
    expect(leadTimeForChanges([dep('acme/a', 1, 'c5', T - 2 * H), dep('acme/a', 2, 'c5', T - H)], [], w, 'p50')).toBeNull();
    expect(leadTimeForChanges(a, ac, { at: T0 + 3 * H, windowMs: DAY }, 'p50')).toBeNull();
  });

  it('a pair whose compare is not stored yet adds nothing', () => {
    // c2 (4h) and c3 (2h) of deployment 2 only
    expect(leadTimeForChanges(a, ac.filter((c) => c.id !== 'c1...c5'), w, 'mean')).toBeCloseTo(10800, 9);
  });
});

describe('deploymentsFromRuns', () => {
  const run = (id: number, over: Partial<WorkflowRunEvent> = {}): WorkflowRunEvent => ({
    repo: 'acme/a',
    id,
    workflow: 'deploy.yml',
    branch: 'main',
    event: 'push',
    status: 'completed',
    conclusion: 'success',
    headSha: `sha${id}`,
    createdAt: T - 10 * H + id,
    updatedAt: T - 5 * H,
    runStartedAt: T - 10 * H + id,
    runAttempt: 1,
    ...over,
  });

  it('keeps completed successful runs: deployed_at = updated_at, sha = head_sha, ordered by (repo, time, id)', () => {
    const out = deploymentsFromRuns([
      run(5, { updatedAt: T - H }),
      run(3),
      run(2),
      run(4, { conclusion: 'failure' }),
      run(6, { status: 'in_progress', conclusion: null }),
      run(7, { conclusion: 'cancelled' }),
      run(8, { repo: 'acme/0', updatedAt: T }),
    ]);
    expect(out).toEqual([
      dep('acme/0', 8, 'sha8', T),
      dep('acme/a', 2, 'sha2', T - 5 * H),
      dep('acme/a', 3, 'sha3', T - 5 * H),
      dep('acme/a', 5, 'sha5', T - H),
    ]);
  });

  it('optionally keeps one workflow and branch', () => {
    const runs = [run(1), run(2, { workflow: 'ci.yml' }), run(3, { branch: 'release' })];
    expect(deploymentsFromRuns(runs, { workflow: 'deploy.yml', branch: 'main' }).map((d) => d.id)).toEqual([1]);
    expect(deploymentsFromRuns(runs).map((d) => d.id)).toEqual([1, 2, 3]);
  });

  it('feeds the deployment metrics like GitHub deployments do', () => {
    const deps = deploymentsFromRuns([run(1, { headSha: 'a', updatedAt: T - 3 * H }), run(2, { headSha: 'b', updatedAt: T - 2 * H }), run(3, { headSha: 'a', updatedAt: T - H })]);
    expect(rollbackRate(deps, { at: T, windowMs: DAY })).toBeCloseTo(1 / 3, 12);
    expect(changeFailureRate(deps, null, { at: T, windowMs: DAY }, DAY)).toBeCloseTo(1 / 3, 12);
  });
});
