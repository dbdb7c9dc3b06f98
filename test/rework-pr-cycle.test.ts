// Issue 14: `deployment_rework_rate` and `pr_cycle_time` (METRICS.md "Rework, PR stages"). The
// metric functions on hand-made cases at their edges, then `krt run --once --json` against the
// simulated GitHub (PRs merged with merge commits, squashes and rebases) and PagerDuty (an incident
// left open across deployments) gives the values computed independently in test/helpers.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { applyLogEntry, applyNewIncident, generatePagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { formatProblem, parseConfig } from '../src/config/load.js';
import { formatWarning, lintConfigText } from '../src/config/lint.js';
import { deploymentReworkRate } from '../src/metrics/deployment-rework-rate.js';
import { streamsOf } from '../src/sync/plan.js';
import { deploymentChanges } from '../src/metrics/lead-time.js';
import { prCycleTime } from '../src/metrics/pr-cycle-time.js';
import type { CompareEvent, Deployment, IncidentEvent, PullRequestEvent } from '../src/core/events.js';
import { expectedStatistic } from './helpers/expected.js';
import { expectedRework, expectedShippedPulls, expectedStageSeconds, incidentIntervals, type Stage } from './helpers/expected-pulls.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const dep = (id: number, sha: string, hours: number, repo = 'acme/x'): Deployment => ({ repo, id, sha, deployedAt: T0 + hours * HOUR });
const incident = (createdHours: number, resolvedHours: number | null): IncidentEvent => ({
  service: 'PSVC',
  id: `Q${createdHours}`,
  createdAt: T0 + createdHours * HOUR,
  resolvedAt: resolvedHours === null ? null : T0 + resolvedHours * HOUR,
  acknowledgedAt: null,
  urgency: 'high',
  status: resolvedHours === null ? 'triggered' : 'resolved',
});

describe('deployment_rework_rate', () => {
  const deployments = [dep(1, 'a', 1), dep(2, 'b', 2), dep(3, 'a', 3), dep(4, 'c', 4), dep(5, 'd', 5), dep(6, 'e', 6)];
  const w = { at: T0 + 10 * HOUR, windowMs: DAY };

  it('counts rollbacks alone for a KR without services', () => {
    // Deployment 3 returns to sha a: the only rollback.
    expect(deploymentReworkRate(deployments, null, w)).toBeCloseTo(1 / 6, 12);
  });

  it('counts a deployment made while an incident was open: created at or before it, resolved after it', () => {
    // Open over [4h, 5h): deployment 4 (at 4h, the creation instant) is rework, 5 (at the resolution instant) is not.
    expect(deploymentReworkRate(deployments, [incident(4, 5)], w)).toBeCloseTo(2 / 6, 12);
    // An incident never resolved covers every deployment after its creation; the rollback counts once.
    expect(deploymentReworkRate(deployments, [incident(2.5, null)], w)).toBeCloseTo(4 / 6, 12);
    // Overlapping incidents: a long one created first still covers a deployment after a short one ends.
    expect(deploymentReworkRate(deployments, [incident(0.5, 5.5), incident(1.5, 1.6)], w)).toBeCloseTo(5 / 6, 12);
    // An incident after every deployment changes nothing.
    expect(deploymentReworkRate(deployments, [incident(7, 8)], w)).toBeCloseTo(1 / 6, 12);
  });

  it('has no value without deployments in the window, and counts only the window', () => {
    expect(deploymentReworkRate(deployments, [], { at: T0 - HOUR, windowMs: DAY })).toBeNull();
    expect(deploymentReworkRate(deployments, [incident(0, null)], { at: T0 + 3 * HOUR, windowMs: 1.5 * HOUR })).toBe(1);
  });
});

describe('pr_cycle_time', () => {
  // Deployments 1 (sha m0), 2 (m2: ships m1, m2), 3 (m3), 4 rollback to m2 (nothing new), 5 (m3 again: shipped already).
  const deployments = [dep(1, 'm0', 0), dep(2, 'm2', 10), dep(3, 'm3', 20), dep(4, 'm2', 30), dep(5, 'm3', 40)];
  const compare = (base: string, head: string, shas: string[]): CompareEvent => ({ repo: 'acme/x', id: `${base}...${head}`, base, head, commits: shas.map((sha, i) => ({ sha, committedAt: T0 + i * HOUR })) });
  const compares = [compare('m0', 'm2', ['f1', 'm1', 'm2']), compare('m2', 'm3', ['m3']), compare('m3', 'm2', []), compare('m2', 'm3', ['m3'])];
  const pr = (id: number, sha: string, first: number | null, created: number, merged: number): PullRequestEvent => ({
    repo: 'acme/x',
    id,
    mergeCommitSha: sha,
    firstCommitAt: first === null ? null : T0 + first * HOUR,
    createdAt: T0 + created * HOUR,
    mergedAt: T0 + merged * HOUR,
    commits: 1,
  });
  // #1 merge commit m1 (branch commit f1); #2 squash m2 opened before its first commit; #3 rebase ending at m3.
  const pulls = [pr(1, 'm1', -5, -4, 2), pr(2, 'm2', 1, 0.5, 8), pr(3, 'm3', 12, 13, 15), pr(4, 'elsewhere', 0, 1, 2)];
  const changes = deploymentChanges(deployments, compares);
  const w = { at: T0 + 50 * HOUR, windowMs: 7 * DAY };
  const values = (stage: Stage) => [...Array(3)].map((_, i) => prCycleTime(changes, pulls.slice(i, i + 1), w, stage, 'mean'));

  it('measures each stage per PR, a negative coding time as 0, PRs not shipped left out', () => {
    expect(values('coding')).toEqual([1 * 3600, 0, 1 * 3600]);
    expect(values('review')).toEqual([6 * 3600, 7.5 * 3600, 2 * 3600]);
    expect(values('deploy')).toEqual([8 * 3600, 2 * 3600, 5 * 3600]);
    expect(values('total')).toEqual([15 * 3600, 9 * 3600, 8 * 3600]);
    expect(prCycleTime(changes, pulls.slice(3), w, 'total', 'p50')).toBeNull();
    // Pooled: the median of the three totals.
    expect(prCycleTime(changes, pulls, w, 'total', 'p50')).toBe(9 * 3600);
  });

  it('counts a PR at the first deployment that ships it, in that deployment\'s window', () => {
    // Deployment 5 redeploys m3 after the rollback: #3 is not shipped again.
    expect(prCycleTime(changes, pulls, { at: T0 + 45 * HOUR, windowMs: 10 * HOUR }, 'total', 'p50')).toBeNull();
    expect(prCycleTime(changes, pulls, { at: T0 + 20 * HOUR, windowMs: 5 * HOUR }, 'deploy', 'p50')).toBe(5 * 3600);
  });

  it('leaves a PR whose commits could not be read out of coding and total only', () => {
    const unknown = [pr(2, 'm2', null, 0.5, 8)];
    expect(prCycleTime(changes, unknown, w, 'coding', 'p50')).toBeNull();
    expect(prCycleTime(changes, unknown, w, 'total', 'p50')).toBeNull();
    expect(prCycleTime(changes, unknown, w, 'review', 'p50')).toBe(7.5 * 3600);
  });
});

describe('configuration of the two metrics', () => {
  const file = (krs: string) => `version: 1
sources:
  github: { token: \${GITHUB_TOKEN} }
  pagerduty: { token: \${PAGERDUTY_TOKEN} }
objectives:
  - id: delivery
    title: Ship small changes safely
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
${krs}`;
  const env = { GITHUB_TOKEN: 'x', PAGERDUTY_TOKEN: 'y' };
  const good = file(`      - { id: rework, title: Keep the deployment rework rate under 10%, metric: deployment_rework_rate, repos: [acme/a, acme/b], services: [PABC123], kind: maintain_below, target: 0.1 }
      - { id: review, title: Cut the median pull-request review time to 8 hours, metric: pr_cycle_time, stage: review, repos: [acme/a], baseline: 86400, target: 28800 }
      - { id: cycle, title: Cut the median pull-request cycle time to 2 days, metric: pr_cycle_time, repos: [acme/a], baseline: 400000, target: 172800 }
`);

  it('reads stage (default total) and the units; plans the streams each needs', () => {
    const { config, problems } = parseConfig(good, 'okrs.yaml', env);
    expect(problems.map(formatProblem)).toEqual([]);
    const [rework, review, cycle] = config!.objectives[0]!.keyResults;
    expect([rework!.unit, review!.unit, cycle!.unit]).toEqual(['ratio', 'seconds', 'seconds']);
    expect([rework!.options?.stage, review!.options?.stage, cycle!.options?.stage]).toEqual([undefined, 'review', 'total']);
    const keys = (kr: typeof rework) => streamsOf(kr!).map((s) => `${s.stream}:${s.key}`);
    expect(keys(rework)).toEqual(['deployments:acme/a@production', 'deployments:acme/b@production', 'incidents:PABC123']);
    expect(keys(review)).toEqual(['deployments:acme/a@production', 'compare:acme/a@production', 'pulls:acme/a']);
  });

  it('rejects an unknown stage, and a stage on another metric, saying what to write', () => {
    const bad = file(`      - { id: a, title: Cut the median PR time to 2 days, metric: pr_cycle_time, stage: merging, repos: [acme/a], target: 172800 }
      - { id: b, title: Cut CI time to 5 minutes, metric: ci_duration, workflow: ci.yml, stage: review, repos: [acme/a], target: 300 }
`);
    const { config, problems } = parseConfig(bad, 'okrs.yaml', env);
    expect(config).toBeNull();
    const text = problems.map(formatProblem);
    expect(text).toHaveLength(2);
    expect(text[0]).toMatch(/keyResults\[0\]\.stage is "merging"; .*coding, review, deploy, total/);
    expect(text[1]).toMatch(/keyResults\[1\]\.stage applies to metric pr_cycle_time, not ci_duration; remove it/);
  });

  it('lints the titles against what the metrics measure', () => {
    const wrong = file(`      - { id: rework, title: Increase the deployment rework rate to 30%, metric: deployment_rework_rate, repos: [acme/a], baseline: 0.2, target: 0.3 }
      - { id: review, title: Cut the median pull-request review time to 8 hours, metric: pr_cycle_time, stage: review, repos: [acme/a], baseline: 86400, target: 28800 }
`);
    const warnings = lintConfigText(wrong, 'okrs.yaml', env).warnings.map(formatWarning).join('\n');
    expect(warnings).toMatch(/deployment rework rate/);
    expect(warnings).not.toMatch(/keyResults\[1\]\.title/);
  });
});

// ----- end to end -----
const REPOS = ['acme/payments', 'acme/checkout', 'acme/search'];
const SERVICE = 'PXXXXXX';
const NOW = Math.floor(Date.now() / 1000) * 1000;
const AT = NOW - 2 * DAY;
let github: GithubSimulator;
let pagerduty: Awaited<ReturnType<typeof startPagerDutySimulator>>;
let configFile: string;

const CONFIG = `version: 1
timezone: UTC
sources:
  github: { token: \${GITHUB_TOKEN}, baseUrl: \${GITHUB_API_URL} }
  pagerduty: { token: \${PAGERDUTY_TOKEN}, baseUrl: \${PAGERDUTY_API_URL} }
objectives:
  - id: delivery
    title: Ship small changes safely
    owner: platform-team
    period: { start: ${new Date(AT - 20 * DAY).toISOString().slice(0, 10)}, end: ${new Date(AT + 60 * DAY).toISOString().slice(0, 10)} }
    keyResults:
      - { id: rework, title: Keep the rework rate under 10%, metric: deployment_rework_rate, repos: [${REPOS.join(', ')}], services: [${SERVICE}], window: 28d, kind: maintain_below, target: 0.1 }
      - { id: rework-rollbacks, title: Keep rework from rollbacks under 5%, metric: deployment_rework_rate, repos: [${REPOS.join(', ')}], window: 28d, kind: maintain_below, target: 0.05 }
      - { id: pr-total, title: Cut the median PR cycle time to two days, metric: pr_cycle_time, repos: [${REPOS.join(', ')}], window: 28d, baseline: 400000, target: 172800 }
      - { id: pr-coding, title: Cut the median coding time to one day, metric: pr_cycle_time, stage: coding, repos: [${REPOS.join(', ')}], window: 28d, baseline: 200000, target: 86400 }
      - { id: pr-review, title: Cut the p90 review time to one day, metric: pr_cycle_time, stage: review, stat: p90, repos: [${REPOS.join(', ')}], window: 28d, baseline: 300000, target: 86400 }
      - { id: pr-deploy, title: Cut the mean time from merge to production to 4 hours, metric: pr_cycle_time, stage: deploy, stat: mean, repos: [${REPOS.join(', ')}], window: 14d, baseline: 100000, target: 14400 }
`;

beforeAll(async () => {
  const gh = generateGithubDataset({ seed: 23, repos: REPOS, from: new Date(NOW - 90 * DAY), to: new Date(NOW), rateScale: 0.6 });
  const pd = generatePagerDutyDataset({ seed: 23, services: [SERVICE], from: new Date(NOW - 90 * DAY), to: new Date(NOW) });
  // An incident left open for two days in the window (resolved after it), and one still open.
  const long = applyNewIncident(pd, { service_id: SERVICE, created_at: AT - 10 * DAY });
  applyLogEntry(pd, long.id, 'resolve_log_entry', AT - 8 * DAY);
  applyNewIncident(pd, { service_id: SERVICE, created_at: AT - 1 * DAY });
  github = await startGithubSimulator({ dataset: gh, token: 'e2e-token' });
  pagerduty = await startPagerDutySimulator({ dataset: pd, token: 'e2e-token' });
  configFile = join(mkdtempSync(join(tmpdir(), 'krt-pulls-')), 'okrs.yaml');
  writeFileSync(configFile, CONFIG);
}, 60_000);
afterAll(async () => {
  await github?.close();
  await pagerduty?.close();
});

interface KrOut { id: string; value: number | null; error: string | null }

function runOnce(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/krt.js', 'run', '--once', '--json', '--at', new Date(AT).toISOString(), '--config', configFile], {
      env: { ...process.env, LOG_LEVEL: 'silent', GITHUB_TOKEN: 'e2e-token', GITHUB_API_URL: github.url, PAGERDUTY_TOKEN: 'e2e-token', PAGERDUTY_API_URL: pagerduty.url },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('krt run --once --json: rework rate and PR cycle time from the simulated sources', () => {
  it('equals the independent computation for both metrics and all four stages', async () => {
    const out = await runOnce();
    expect(out.code, out.stderr).toBe(0);
    const krs = new Map((JSON.parse(out.stdout) as { objectives: { keyResults: KrOut[] }[] }).objectives.flatMap((o) => o.keyResults).map((k) => [k.id, k]));
    const value = (id: string) => {
      const kr = krs.get(id)!;
      expect(kr.error, `${id}: ${kr.error}`).toBeNull();
      return kr.value;
    };

    // The data holds what the metrics must get right.
    const incidents = incidentIntervals(pagerduty.dataset, [SERVICE], NOW);
    const rework = expectedRework(github.dataset, REPOS, 'production', incidents, AT, 28);
    const rollbacksOnly = expectedRework(github.dataset, REPOS, 'production', null, AT, 28);
    expect(rework.rollbacks, 'rollbacks in the window').toBeGreaterThan(0);
    expect(rework.duringIncident, 'deployments during an open incident').toBeGreaterThan(0);
    expect(rework.rework).toBeGreaterThan(rollbacksOnly.rework);
    const shipped = expectedShippedPulls(github.dataset, REPOS, 'production', AT, 28);
    const methods = new Set(shipped.map((s) => s.pull.method));
    expect([...methods].sort()).toEqual(['merge', 'rebase', 'squash']);
    // Squash and rebase: the first commit is older than what the merge put on the branch.
    const squashed = shipped.filter((s) => s.pull.method === 'squash');
    expect(squashed.every((s) => s.firstCommit < Date.parse(s.pull.merged_at!))).toBe(true);
    expect(shipped.some((s) => s.pull.method === 'rebase' && s.firstCommit < Date.parse(s.pull.commits[0]!.authorDate))).toBe(true);
    expect(shipped.some((s) => Date.parse(s.pull.created_at) < s.firstCommit), 'a PR opened before its first commit').toBe(true);

    const stage = (st: Stage, stat: 'p50' | 'p90' | 'mean', days = 28) => expectedStatistic(expectedStageSeconds(expectedShippedPulls(github.dataset, REPOS, 'production', AT, days), st), stat);
    const expected: Record<string, number | null> = {
      rework: rework.rate,
      'rework-rollbacks': rollbacksOnly.rate,
      'pr-total': stage('total', 'p50'),
      'pr-coding': stage('coding', 'p50'),
      'pr-review': stage('review', 'p90'),
      'pr-deploy': stage('deploy', 'mean', 14),
    };
    for (const [id, want] of Object.entries(expected)) {
      expect(want, `${id}: the generated data should give a value`).not.toBeNull();
      expect(value(id), id).toBeCloseTo(want!, 6);
    }
    // Every PR was read from the pulls list and GraphQL, none from the per-PR REST fallback.
    const routes = github.counts().byRoute;
    expect(routes['GET /repos/{owner}/{repo}/pulls']).toBeGreaterThan(0);
    expect(routes['GET /repos/{owner}/{repo}/pulls/{pull_number}/commits'] ?? 0).toBe(0);
  }, 120_000);
});
