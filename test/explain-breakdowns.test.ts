// Issue 13, "explain every number": on a simulated organisation of three repositories and two
// PagerDuty services, `krt run --once --json` gives each key result over several repositories
// (services) its per-repository (per-service) values, equal to the metric computed independently
// over that repository alone; `krt explain --json` lists exactly the deployments, failures and
// their causes, rework, changes and incidents an independent computation finds, with the value
// run --once gives at the same instant.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { generatePagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { expectedChangeFailureRate, expectedDeploymentFrequency, expectedLeadTimes, expectedStatistic, expectedTimeToRestore } from './helpers/expected.js';
import { expectedChanges, expectedDeployments, incidentsOf } from './helpers/explain-expected.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const REPOS = ['acme/payments', 'acme/checkout', 'acme/search'];
const SERVICES = ['PXXXXXX', 'PYYYYYY'];
const NOW = Math.floor(Date.now() / 1000) * 1000;
const AT = NOW - 2 * DAY;
let github: GithubSimulator;
let pagerduty: Awaited<ReturnType<typeof startPagerDutySimulator>>;
let dir: string;

const CONFIG = (max: number | null) => `version: 1
sources:
  github: { token: \${GITHUB_TOKEN}, baseUrl: \${GITHUB_API_URL} }
  pagerduty: { token: \${PAGERDUTY_TOKEN}, baseUrl: \${PAGERDUTY_API_URL} }
${max === null ? '' : `breakdowns: { max: ${max} }\n`}objectives:
  - id: delivery
    title: Ship small changes often and safely
    owner: platform-team
    period: { start: ${new Date(NOW - 60 * DAY).toISOString().slice(0, 10)}, end: ${new Date(NOW + 30 * DAY).toISOString().slice(0, 10)} }
    keyResults:
      - { id: cfr, title: Halve the change failure rate, metric: change_failure_rate, repos: [${REPOS.join(', ')}], services: [${SERVICES.join(', ')}], attribution: 4h, window: 28d, baseline: 0.3, target: 0.15 }
      - { id: frequency, title: Deploy daily, metric: deployment_frequency, repos: [${REPOS.join(', ')}], window: 28d, baseline: 0.5, target: 1 }
      - { id: lead-time, title: Cut the lead time, metric: lead_time_for_changes, repos: [${REPOS.join(', ')}], window: 28d, stat: p50, baseline: 200000, target: 100000 }
      - { id: restore, title: Restore within an hour, metric: time_to_restore, services: [${SERVICES.join(', ')}], window: 28d, baseline: 7200, target: 3600 }
      - { id: one-repo, title: Deploy payments daily, metric: deployment_frequency, repos: [acme/payments], window: 28d, baseline: 0.5, target: 1 }
      - { id: rollbacks, title: Few rollbacks, metric: rollback_rate, repos: [${REPOS.join(', ')}], window: 90d, baseline: 0.1, target: 0.01 }
      - { id: ci-success, title: Green CI, metric: ci_success_rate, repos: [${REPOS.join(', ')}], workflow: ci.yml, window: 28d, baseline: 0.8, target: 0.95 }
      - { id: ci-time, title: Fast CI, metric: ci_duration, repos: [${REPOS.join(', ')}], workflow: ci.yml, window: 28d, stat: p90, baseline: 900, target: 600 }
      - { id: coverage, title: Coverage, metric: test_coverage, repos: [acme/payments, acme/checkout], workflow: ci.yml, baseline: 0.6, target: 0.85 }
      - { id: ack, title: Acknowledge fast, metric: time_to_acknowledge, services: [${SERVICES.join(', ')}], window: 28d, stat: mean, baseline: 600, target: 300 }
      - { id: incidents, title: Fewer incidents, metric: incident_count, services: [${SERVICES.join(', ')}], urgency: high, window: 28d, baseline: 40, target: 20 }
`;

beforeAll(async () => {
  github = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 31, repos: REPOS, from: new Date(NOW - 120 * DAY), to: new Date(NOW), rateScale: 0.4 }),
    token: 'explain-token',
  });
  pagerduty = await startPagerDutySimulator({
    dataset: generatePagerDutyDataset({ seed: 31, services: SERVICES, from: new Date(NOW - 120 * DAY), to: new Date(NOW), incidentsPerDay: 1.5 }),
    token: 'explain-token',
  });
  dir = await mkdtemp(join(tmpdir(), 'krt-explain-'));
  await writeFile(join(dir, 'okrs.yaml'), CONFIG(null));
  await writeFile(join(dir, 'okrs-max2.yaml'), CONFIG(2));
}, 120_000);
afterAll(async () => {
  await github?.close();
  await pagerduty?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function krt(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/krt.js', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', GITHUB_TOKEN: 'explain-token', GITHUB_API_URL: github.url, PAGERDUTY_TOKEN: 'explain-token', PAGERDUTY_API_URL: pagerduty.url },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Component { repository?: string; service?: string; value: number | null }
interface KrOut { id: string; value: number | null; error: string | null; components: Component[] }

async function runOnce(file: string): Promise<Map<string, KrOut>> {
  const out = await krt(['run', '--once', '--json', '--at', new Date(AT).toISOString(), '-c', join(dir, file)]);
  expect(out.code, out.stderr).toBe(0);
  return new Map((JSON.parse(out.stdout) as { objectives: { keyResults: KrOut[] }[] }).objectives.flatMap((o) => o.keyResults).map((k) => [k.id, k]));
}

async function explain(ref: string): Promise<Record<string, unknown> & { value: number | null }> {
  const out = await krt(['explain', ref, '--json', '--at', new Date(AT).toISOString(), '-c', join(dir, 'okrs.yaml')]);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as Record<string, unknown> & { value: number | null };
}

/** Worst first: the highest values first when lower is better, the lowest when higher is. */
const worstFirst = (values: number[], better: 'increase' | 'decrease') => [...values].sort((a, b) => (better === 'increase' ? a - b : b - a));

describe('breakdowns in krt run --once --json', () => {
  let krs: Map<string, KrOut>;
  beforeAll(async () => {
    krs = await runOnce('okrs.yaml');
  }, 180_000);

  const incidentTimes = () => incidentsOf(pagerduty.dataset, SERVICES, NOW).map((i) => i.createdAt);
  const perRepo: Record<string, (repo: string) => number | null> = {
    cfr: (repo) => expectedChangeFailureRate(github.dataset, [repo], 'production', incidentTimes(), AT, 28, 4 * HOUR),
    frequency: (repo) => expectedDeploymentFrequency(github.dataset, [repo], 'production', AT, 28),
    'lead-time': (repo) => expectedStatistic(expectedLeadTimes(github.dataset, [repo], 'production', AT, 28), 'p50'),
  };

  for (const [id, expected] of Object.entries(perRepo)) {
    it(`${id}: one component per repository, each the metric over that repository alone, worst first`, () => {
      const kr = krs.get(id)!;
      expect(kr.error, kr.error ?? '').toBeNull();
      expect(kr.components.map((c) => c.repository).sort()).toEqual([...REPOS].sort());
      for (const c of kr.components) {
        const want = expected(c.repository!);
        expect(want, `${id} ${c.repository}: the generated data should give a value`).not.toBeNull();
        expect(c.value, `${id} ${c.repository}`).toBeCloseTo(want!, 9);
      }
      const better = id === 'frequency' ? 'increase' : 'decrease';
      expect(kr.components.map((c) => c.value)).toEqual(worstFirst(kr.components.map((c) => c.value!), better));
      // The components are not the whole: the key result pools them.
      expect(new Set(kr.components.map((c) => c.value)).size, `${id}: repositories differ`).toBeGreaterThan(1);
    });
  }

  it('restore: one component per PagerDuty service', () => {
    const kr = krs.get('restore')!;
    expect(kr.components.map((c) => c.service).sort()).toEqual([...SERVICES].sort());
    for (const c of kr.components) expect(c.value, c.service).toBeCloseTo(expectedTimeToRestore(pagerduty.dataset, [c.service!], AT, 28, 0.5, NOW)!, 9);
  });

  it('a key result over one repository has no components', () => {
    expect(krs.get('one-repo')!.components).toEqual([]);
  });

  it('breakdowns: { max: 2 } keeps the two worst', async () => {
    const bounded = await runOnce('okrs-max2.yaml');
    for (const id of ['cfr', 'frequency', 'lead-time']) {
      expect(bounded.get(id)!.components, id).toEqual(krs.get(id)!.components.slice(0, 2));
      expect(bounded.get(id)!.value, id).toBe(krs.get(id)!.value);
    }
  }, 180_000);
});

describe('krt explain --json', () => {
  let krs: Map<string, KrOut>;
  beforeAll(async () => {
    krs = await runOnce('okrs.yaml');
  }, 180_000);

  it('change_failure_rate: exactly the deployments of the window, the failed ones with their causes, the rework ones and the incidents that caused failures', async () => {
    const e = await explain('delivery/cfr');
    const incidents = incidentsOf(pagerduty.dataset, SERVICES, NOW);
    const want = expectedDeployments(github.dataset, REPOS, 'production', incidents, AT, 28, 4 * HOUR);
    expect(Object.keys(e).sort()).toEqual(['at', 'deployments', 'incidents', 'keyResult', 'metric', 'objective', 'value', 'window']);
    expect(e).toMatchObject({ objective: 'delivery', keyResult: 'cfr', metric: 'change_failure_rate', at: new Date(AT).toISOString(), window: { from: new Date(AT - 28 * DAY).toISOString(), to: new Date(AT).toISOString() } });
    const got = e.deployments as typeof want;
    const key = (d: { repository: string; id: string }) => `${d.repository}#${d.id}`;
    expect(got.map(key).sort()).toEqual(want.map(key).sort());
    const failed = (list: typeof want) => list.filter((d) => d.failed).map((d) => [key(d), d.cause]).sort();
    expect(failed(got)).toEqual(failed(want));
    expect(want.some((d) => d.cause?.kind === 'rollback'), 'the data has a failure by rollback').toBe(true);
    expect(want.some((d) => d.cause?.kind === 'incident'), 'the data has a failure by incident').toBe(true);
    expect(got.filter((d) => d.rework).map(key).sort()).toEqual(want.filter((d) => d.rework).map(key).sort());
    expect(got.filter((d) => d.rollback).map(key).sort()).toEqual(want.filter((d) => d.rollback).map(key).sort());
    const causes = new Set(want.flatMap((d) => (d.cause?.kind === 'incident' ? [d.cause.incident] : [])));
    expect((e.incidents as { id: string }[]).map((i) => i.id).sort()).toEqual([...causes].sort());
    // The value: the one run --once gives, and the count the lists give.
    expect(e.value).toBe(krs.get('cfr')!.value);
    expect(e.value).toBeCloseTo(want.filter((d) => d.failed).length / want.length, 12);
  }, 180_000);

  it('lead_time_for_changes: exactly the changes of the window with their lead time and deployment', async () => {
    const e = await explain('delivery/lead-time');
    expect(Object.keys(e).sort()).toEqual(['at', 'changes', 'deployments', 'keyResult', 'metric', 'objective', 'value', 'window']);
    const want = expectedChanges(github.dataset, REPOS, 'production', AT, 28);
    const got = (e.changes as { repository: string; sha: string; deployment: string; seconds: number }[]).map(({ repository, sha, deployment, seconds }) => ({ repository, sha, deployment, seconds }));
    const byKey = (a: { repository: string; sha: string }, b: { repository: string; sha: string }) => `${a.repository}${a.sha}`.localeCompare(`${b.repository}${b.sha}`);
    expect(got.sort(byKey)).toEqual(want.sort(byKey));
    expect(e.value).toBe(krs.get('lead-time')!.value);
    expect(e.value).toBeCloseTo(expectedStatistic(want.map((c) => c.seconds), 'p50')!, 9);
  }, 180_000);

  it('time_to_restore: exactly the incidents resolved in the window, with their time to restore', async () => {
    const e = await explain('delivery/restore');
    expect(Object.keys(e).sort()).toEqual(['at', 'incidents', 'keyResult', 'metric', 'objective', 'value', 'window']);
    const want = incidentsOf(pagerduty.dataset, SERVICES, NOW)
      .filter((i) => i.resolvedAt !== null && i.resolvedAt > AT - 28 * DAY && i.resolvedAt <= AT)
      .map((i) => ({ id: i.id, service: i.service, seconds: (i.resolvedAt! - i.createdAt) / 1000 }));
    const got = (e.incidents as { id: string; service: string; seconds: number }[]).map(({ id, service, seconds }) => ({ id, service, seconds }));
    expect(got.sort((a, b) => a.id.localeCompare(b.id))).toEqual(want.sort((a, b) => a.id.localeCompare(b.id)));
    expect(e.value).toBe(krs.get('restore')!.value);
  }, 180_000);

  it('every metric: the value of run --once at the same instant, and lists that give it back', async () => {
    const stat = (values: number[], s: 'p50' | 'p90' | 'mean') => expectedStatistic(values, s);
    type Lists = { deployments?: { failed: boolean; rollback: boolean }[]; changes?: { seconds: number }[]; incidents?: { seconds: number | null }[]; runs?: { conclusion: string; seconds: number; lineRate?: number }[] };
    const recompute: Record<string, (e: Lists) => number | null> = {
      cfr: (e) => e.deployments!.filter((d) => d.failed).length / e.deployments!.length,
      frequency: (e) => e.deployments!.length / 28,
      'one-repo': (e) => e.deployments!.length / 28,
      rollbacks: (e) => e.deployments!.filter((d) => d.rollback).length / e.deployments!.length,
      'lead-time': (e) => stat(e.changes!.map((c) => c.seconds), 'p50'),
      restore: (e) => stat(e.incidents!.map((i) => i.seconds!), 'p50'),
      ack: (e) => stat(e.incidents!.map((i) => i.seconds!), 'mean'),
      incidents: (e) => e.incidents!.length,
      'ci-success': (e) => e.runs!.filter((r) => r.conclusion === 'success').length / e.runs!.length,
      'ci-time': (e) => stat(e.runs!.map((r) => r.seconds), 'p90'),
      coverage: (e) => e.runs![0]!.lineRate!,
    };
    expect(Object.keys(recompute).sort()).toEqual([...krs.keys()].sort());
    for (const [id, f] of Object.entries(recompute)) {
      const e = (await explain(`delivery/${id}`)) as Lists & { value: number | null };
      expect(krs.get(id)!.value, `${id}: ${krs.get(id)!.error}`).not.toBeNull();
      expect(e.value, id).toBe(krs.get(id)!.value);
      expect(f(e), id).toBeCloseTo(e.value!, 9);
    }
  }, 300_000);

  it('prints a readable table, and names what exists when the key result does not', async () => {
    const out = await krt(['explain', 'delivery/cfr', '--at', new Date(AT).toISOString(), '-c', join(dir, 'okrs.yaml')]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^delivery\/cfr \(change_failure_rate\) at .*: \d+(\.\d+)?%/);
    expect(out.stdout).toMatch(/^deployments \(\d+\): \d+ failed, \d+ rework, \d+ rollbacks?$/m);
    expect(out.stdout).toMatch(/repository\s+id\s+sha\s+deployed at\s+rollback\s+failed\s+rework\s+cause/);
    expect(out.stdout).toMatch(/rolled back by \d+/);
    expect(out.stdout).toMatch(/incident \S+ at /);
    const bad = await krt(['explain', 'delivery/nope', '-c', join(dir, 'okrs.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('objective delivery has no key result "nope"; it has: cfr, frequency, lead-time, restore, one-repo, rollbacks, ci-success, ci-time, coverage, ack, incidents');
  }, 180_000);
});
