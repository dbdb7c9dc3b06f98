// The simulated GitHub Actions (connectors/github/sim): workflow runs, artifacts and artifact
// downloads in the dataset and through the REST API, with plain fetch and with Octokit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageFromZip, listZip, readZipEntry } from '../connectors/github/coverage.js';
import {
  applyNewWorkflowRun,
  applyRunUpdate,
  artifactFiles,
  artifactZip,
  generateGithubDataset,
  workflowId,
  zipFiles,
  type GithubDataset,
  type SimArtifact,
  type SimWorkflowRun,
} from '../connectors/github/sim/dataset.js';
import { parseCreatedFilter, startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';

const TOKEN = 'ghp_simulated_token_for_tests';
const REPOS = ['acme/payments', 'acme/checkout'];
const FROM = new Date('2026-06-01T00:00:00Z');
const TO = new Date('2026-11-25T00:00:00Z');
const DAY = 86_400_000;
const gen = (seed = 42) => generateGithubDataset({ seed, repos: REPOS, from: FROM, to: TO });

const KrtOctokit = Octokit.plugin(throttling, retry);
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const octokitFor = (sim: GithubSimulator) =>
  new KrtOctokit({ auth: TOKEN, baseUrl: sim.url, log: silent, throttle: { onRateLimit: () => false, onSecondaryRateLimit: () => false }, retry: { retryAfterBaseValue: 1 } });

const newestFirst = (a: SimWorkflowRun, b: SimWorkflowRun) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;
const ms = (iso: string) => Date.parse(iso);
const ratio = (a: SimArtifact) => {
  const files = a.coverage!.files;
  return files.reduce((s, f) => s + f.covered, 0) / files.reduce((s, f) => s + f.lines, 0);
};
const hasUnzip = (() => {
  try {
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('generateGithubDataset: GitHub Actions', () => {
  const ds = gen();

  it('is deterministic and has ci.yml and deploy.yml runs with GitHub-like ids', () => {
    expect(gen().repos.map((r) => r.runs)).toEqual(ds.repos.map((r) => r.runs));
    const all = ds.repos.flatMap((r) => r.runs);
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    const byTime = [...all].sort((a, b) => ms(a.created_at) - ms(b.created_at) || a.id - b.id);
    for (let i = 1; i < byTime.length; i++) expect(byTime[i]!.id).toBeGreaterThan(byTime[i - 1]!.id);
    expect(all[0]!.id).toBeGreaterThan(2 ** 31);
    const artifacts = all.flatMap((r) => r.artifacts);
    expect(new Set(artifacts.map((a) => a.id)).size).toBe(artifacts.length);
    for (const repo of ds.repos) {
      expect(repo.workflows.map((w) => [w.file, w.path, w.id])).toEqual([
        ['ci.yml', '.github/workflows/ci.yml', workflowId(repo.fullName, 'ci.yml')],
        ['deploy.yml', '.github/workflows/deploy.yml', workflowId(repo.fullName, 'deploy.yml')],
      ]);
      for (const wf of ['ci.yml', 'deploy.yml']) {
        const numbers = repo.runs.filter((r) => r.workflow === wf).map((r) => r.run_number);
        expect(numbers).toEqual(numbers.map((_, i) => i + 1));
      }
    }
  });

  it('runs ci.yml on main for every commit that lands, on feature branches for pull requests, deploy.yml on main', () => {
    for (const repo of ds.repos) {
      const pushes = repo.runs.filter((r) => r.workflow === 'ci.yml' && r.event === 'push');
      const landed = repo.commits.filter((c) => ms(c.date) >= FROM.getTime());
      expect(pushes.map((r) => r.head_sha).sort()).toEqual(landed.map((c) => c.sha).sort());
      expect(pushes.every((r) => r.head_branch === 'main')).toBe(true);
      const prs = repo.runs.filter((r) => r.event === 'pull_request');
      expect(prs.length).toBeGreaterThan(pushes.length);
      expect(prs.every((r) => r.workflow === 'ci.yml' && /^[a-z]+\/[a-z0-9-]+-\d+$/.test(r.head_branch) && r.pull_request !== null)).toBe(true);
      const deploys = repo.runs.filter((r) => r.workflow === 'deploy.yml');
      expect(deploys.length).toBeGreaterThan(100);
      expect(deploys.every((r) => r.head_branch === 'main')).toBe(true);
      expect(new Set(deploys.map((r) => r.event))).toEqual(new Set(['push', 'workflow_dispatch']));
      expect(repo.runs.some((r) => r.workflow === 'ci.yml' && r.event === 'workflow_dispatch')).toBe(true);
    }
  });

  it('has realistic conclusions, re-runs, durations that improve, and a run still going at `to`', () => {
    const all = ds.repos.flatMap((r) => r.runs);
    const share = (c: string) => all.filter((r) => r.conclusion === c).length / all.length;
    expect(share('success')).toBeGreaterThan(0.85);
    for (const c of ['failure', 'cancelled', 'skipped', 'timed_out']) expect(share(c)).toBeGreaterThan(0);
    const reruns = all.filter((r) => r.run_attempt > 1);
    expect(reruns.length).toBeGreaterThan(50);
    for (const r of reruns) expect(ms(r.run_started_at) - ms(r.created_at)).toBeGreaterThan(60_000);
    for (const r of all.filter((x) => x.status === 'completed')) {
      expect(ms(r.run_started_at)).toBeGreaterThanOrEqual(ms(r.created_at));
      expect(ms(r.updated_at)).toBeGreaterThanOrEqual(ms(r.run_started_at));
    }
    const minutes = (r: SimWorkflowRun) => (ms(r.updated_at) - ms(r.run_started_at)) / 60_000;
    for (const repo of ds.repos) {
      const ci = repo.runs.filter((r) => r.workflow === 'ci.yml' && r.conclusion === 'success');
      const deploy = repo.runs.filter((r) => r.workflow === 'deploy.yml' && r.conclusion === 'success');
      const range = (xs: SimWorkflowRun[]) => [Math.min(...xs.map(minutes)), Math.max(...xs.map(minutes))];
      expect(range(ci)[0]).toBeGreaterThanOrEqual(5.9);
      expect(range(ci)[1]).toBeLessThanOrEqual(15.1);
      expect(range(deploy)[0]).toBeGreaterThanOrEqual(14.9);
      expect(range(deploy)[1]).toBeLessThanOrEqual(25.1);
      const mean = (xs: SimWorkflowRun[]) => xs.reduce((s, r) => s + minutes(r), 0) / xs.length;
      expect(mean(deploy.slice(-40))).toBeLessThan(mean(deploy.slice(0, 40)) - 2);
      expect(mean(ci.slice(-100))).toBeLessThan(mean(ci.slice(0, 100)));
      for (const r of repo.runs.filter((x) => x.conclusion === 'timed_out')) expect(minutes(r)).toBeGreaterThanOrEqual(30);
    }
    const running = all.filter((r) => r.status !== 'completed');
    expect(running.length).toBeGreaterThanOrEqual(1);
    for (const r of running) expect(r.conclusion).toBeNull();
    const last = ds.repos[0]!.runs.filter((r) => r.workflow === 'ci.yml' && r.head_branch === 'main').sort(newestFirst)[0]!;
    expect(last).toMatchObject({ status: 'in_progress', conclusion: null, created_at: '2026-11-24T23:56:00Z' });
  });

  it('puts coverage artifacts on successful ci.yml runs on main, rising from ~0.60 to ~0.80, in changing formats', () => {
    const seen = new Set<string>();
    for (const [i, repo] of ds.repos.entries()) {
      for (const r of repo.runs) {
        const cov = r.artifacts.filter((a) => a.name === 'coverage');
        const should = r.workflow === 'ci.yml' && r.head_branch === 'main' && r.conclusion === 'success';
        expect(cov.length).toBe(should ? 1 : 0);
        for (const a of r.artifacts) {
          expect(ms(a.created_at)).toBeLessThanOrEqual(ms(r.updated_at));
          expect(a.expired).toBe(ms(a.expires_at) <= TO.getTime());
          expect(ms(a.expires_at) - ms(a.created_at)).toBe(90 * DAY);
        }
      }
      const covs = repo.runs.flatMap((r) => r.artifacts.filter((a) => a.name === 'coverage'));
      const formats = covs.map((a) => a.coverage!.format);
      const order = ['istanbul-summary', 'lcov', 'cobertura'];
      expect([...new Set(formats)]).toEqual([order[i % 3], order[(i + 1) % 3]]); // one switch
      formats.forEach((f) => seen.add(f));
      const first = covs.slice(0, 20).reduce((s, a) => s + ratio(a), 0) / 20;
      const last = covs.slice(-20).reduce((s, a) => s + ratio(a), 0) / 20;
      expect(first).toBeGreaterThan(0.55);
      expect(first).toBeLessThan(0.66);
      expect(last).toBeGreaterThan(0.75);
      expect(last).toBeLessThan(0.85);
      // Some of each format outlive the retention, for the connector to read.
      for (const f of new Set(formats)) expect(covs.some((a) => a.coverage!.format === f && !a.expired)).toBe(true);
    }
    expect(seen).toEqual(new Set(['istanbul-summary', 'lcov', 'cobertura']));
  });

  it('renders each report format into a zip that the report says it holds', async () => {
    const repo = ds.repos[0]!;
    const byFormat = new Map<string, SimArtifact>();
    for (const r of ds.repos.flatMap((x) => x.runs)) for (const a of r.artifacts) if (a.coverage && !byFormat.has(a.coverage.format)) byFormat.set(a.coverage.format, a);
    const names = (a: SimArtifact) => artifactFiles(repo.fullName, a).map((f) => f.name);
    expect(names(byFormat.get('istanbul-summary')!)).toEqual(['coverage-summary.json', 'lcov.info', 'lcov-report/index.html']);
    expect(names(byFormat.get('lcov')!)).toEqual(['lcov.info']);
    expect(names(byFormat.get('cobertura')!)).toEqual(['coverage.xml']);
    for (const a of byFormat.values()) {
      const zip = artifactZip(repo.fullName, a);
      const entries = listZip(zip);
      const files = artifactFiles(repo.fullName, a);
      expect(entries.map((e) => e.name)).toEqual(files.map((f) => f.name));
      for (const [i, e] of entries.entries()) expect((await readZipEntry(zip, e, 1e9)).equals(files[i]!.data)).toBe(true);
      const lines = a.coverage!.files.reduce((s, f) => s + f.lines, 0);
      const covered = a.coverage!.files.reduce((s, f) => s + f.covered, 0);
      const want = a.coverage!.format === 'istanbul-summary' ? Math.floor((1000 * 100 * covered) / lines / 10) / 10000 : a.coverage!.format === 'lcov' ? covered / lines : Number((covered / lines).toPrecision(4));
      expect((await coverageFromZip(zip)).lineRate).toBeCloseTo(want, 12);
    }
  });

  it.skipIf(!hasUnzip)('writes zips that Info-ZIP unzip tests clean (CRCs included)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'krt-zip-'));
    try {
      const a = ds.repos[0]!.runs.flatMap((r) => r.artifacts).find((x) => x.coverage?.format === 'istanbul-summary')!;
      const file = join(dir, 'coverage.zip');
      writeFileSync(file, artifactZip('acme/payments', a));
      expect(execFileSync('unzip', ['-t', file]).toString()).toMatch(/No errors detected/);
      const summary = JSON.parse(execFileSync('unzip', ['-p', file, 'coverage-summary.json']).toString()) as { total: { lines: { pct: number } } };
      expect(summary.total.lines.pct).toBeGreaterThan(0);
      const two = join(dir, 'two.zip');
      writeFileSync(two, zipFiles([{ name: 'a/b.txt', data: Buffer.from('hello '.repeat(1000)) }, { name: 'c.json', data: Buffer.from('{}') }]));
      expect(execFileSync('unzip', ['-p', two, 'a/b.txt']).toString()).toBe('hello '.repeat(1000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseCreatedFilter (GitHub search date syntax)', () => {
  const t = (iso: string) => Date.parse(iso);
  it('reads dates, times, comparisons and ranges', () => {
    const f = (v: string) => parseCreatedFilter(v)!;
    expect(f('>=2026-01-01')(t('2026-01-01T00:00:00Z'))).toBe(true);
    expect(f('>=2026-01-01')(t('2025-12-31T23:59:59Z'))).toBe(false);
    expect(f('>2026-01-01')(t('2026-01-01T23:59:59Z'))).toBe(false); // after the whole day
    expect(f('>2026-01-01')(t('2026-01-02T00:00:00Z'))).toBe(true);
    expect(f('<2026-01-01')(t('2025-12-31T23:59:59Z'))).toBe(true);
    expect(f('<=2026-01-01')(t('2026-01-01T23:59:59Z'))).toBe(true);
    expect(f('2026-01-01..2026-02-01')(t('2026-02-01T12:00:00Z'))).toBe(true); // the end day is included
    expect(f('2026-01-01..2026-02-01')(t('2026-02-02T00:00:00Z'))).toBe(false);
    expect(f('2026-01-01..*')(t('2030-01-01T00:00:00Z'))).toBe(true);
    expect(f('*..2026-01-01')(t('2020-01-01T00:00:00Z'))).toBe(true);
    expect(f('2026-01-01')(t('2026-01-01T18:00:00Z'))).toBe(true);
    expect(f('2026-01-01T10:00:00Z..2026-01-01T10:59:59Z')(t('2026-01-01T10:59:59Z'))).toBe(true);
    expect(f('2026-01-01T10:00:00Z..2026-01-01T10:59:59Z')(t('2026-01-01T11:00:00Z'))).toBe(false);
    expect(f('>=2026-01-01T10:00:00+02:00')(t('2026-01-01T08:00:00Z'))).toBe(true);
    expect(f('>=2026-01-01T10:00:00+02:00')(t('2026-01-01T07:59:59Z'))).toBe(false);
    expect(f('>=2026-01-01T10:00:00 02:00')(t('2026-01-01T08:00:00Z'))).toBe(true); // an unencoded +
    expect(f('2026-01-01T10:00')(t('2026-01-01T10:00:59Z'))).toBe(true); // a minute
    for (const bad of ['yesterday', '2026-13-01', '2026-02-30', '>=', '2026-01-01...2026-02-01']) expect(parseCreatedFilter(bad)).toBeNull();
  });
});

describe('simulated GitHub Actions REST API', () => {
  let ds: GithubDataset;
  let sim: GithubSimulator;
  let clock = TO.getTime();
  const get = (path: string, headers: Record<string, string> = {}, token: string | null = TOKEN) =>
    fetch(path.startsWith('http') ? path : sim.url + path, { headers: { ...(token ? { authorization: `token ${token}` } : {}), ...headers }, redirect: 'manual' });
  const runsOf = (repo = 0, wf = 'ci.yml', branch = 'main') => ds.repos[repo]!.runs.filter((r) => r.workflow === wf && r.head_branch === branch).sort(newestFirst);

  beforeAll(async () => {
    ds = gen();
    sim = await startGithubSimulator({ dataset: ds, token: TOKEN, now: () => clock });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('lists a workflow\'s runs newest first with GitHub\'s fields, by file name or numeric id', async () => {
    const want = runsOf();
    const res = await get('/repos/acme/payments/actions/workflows/ci.yml/runs?branch=main&per_page=50');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^W\/"[0-9a-f]{40}"$/);
    const body = (await res.json()) as { total_count: number; workflow_runs: Record<string, unknown>[] };
    expect(body.total_count).toBe(want.length);
    expect(body.workflow_runs.map((r) => r.id)).toEqual(want.slice(0, 50).map((r) => r.id));
    const r0 = body.workflow_runs.find((r) => r.run_attempt === 2) ?? body.workflow_runs[0]!;
    const sim0 = want.find((r) => r.id === r0.id)!;
    expect(r0).toMatchObject({
      name: 'CI',
      head_branch: 'main',
      head_sha: sim0.head_sha,
      path: '.github/workflows/ci.yml',
      event: sim0.event,
      status: sim0.status,
      conclusion: sim0.conclusion,
      workflow_id: workflowId('acme/payments', 'ci.yml'),
      run_number: sim0.run_number,
      run_attempt: sim0.run_attempt,
      created_at: sim0.created_at,
      updated_at: sim0.updated_at,
      run_started_at: sim0.run_started_at,
      url: `${sim.url}/repos/acme/payments/actions/runs/${sim0.id}`,
      html_url: `https://github.com/acme/payments/actions/runs/${sim0.id}`,
      artifacts_url: `${sim.url}/repos/acme/payments/actions/runs/${sim0.id}/artifacts`,
      workflow_url: `${sim.url}/repos/acme/payments/actions/workflows/${workflowId('acme/payments', 'ci.yml')}`,
      repository: { full_name: 'acme/payments' },
      head_commit: { id: sim0.head_sha },
      actor: { login: sim0.actor },
    });
    if (sim0.run_attempt > 1) expect(r0.previous_attempt_url).toBe(`${sim.url}/repos/acme/payments/actions/runs/${sim0.id}/attempts/${sim0.run_attempt - 1}`);
    const link = res.headers.get('link')!;
    expect(link).toContain('rel="next"');
    expect(new URL(/<([^>]+)>; rel="next"/.exec(link)![1]!).searchParams.get('branch')).toBe('main');

    const byId = (await (await get(`/repos/acme/payments/actions/workflows/${workflowId('acme/payments', 'ci.yml')}/runs?branch=main&per_page=50`)).json()) as typeof body;
    expect(byId.workflow_runs.map((r) => r.id)).toEqual(body.workflow_runs.map((r) => r.id));
    expect((await get('/repos/acme/payments/actions/workflows/nope.yml/runs')).status).toBe(404);
    expect((await get('/repos/acme/nope/actions/workflows/ci.yml/runs')).status).toBe(404);

    // Pull-request runs carry their PR; exclude_pull_requests drops it.
    const pr = ds.repos[0]!.runs.find((r) => r.event === 'pull_request')!;
    const prRes = (await (await get(`/repos/acme/payments/actions/workflows/ci.yml/runs?branch=${encodeURIComponent(pr.head_branch)}`)).json()) as typeof body;
    expect(prRes.workflow_runs[0]).toMatchObject({ event: 'pull_request', pull_requests: [{ number: pr.pull_request, head: { ref: pr.head_branch } }] });
    const noPr = (await (await get(`/repos/acme/payments/actions/workflows/ci.yml/runs?branch=${encodeURIComponent(pr.head_branch)}&exclude_pull_requests=true`)).json()) as typeof body;
    expect(noPr.workflow_runs[0]!.pull_requests).toEqual([]);
  });

  it('filters by event, status (a status or a conclusion) and created', async () => {
    const list = async (q: string) => {
      const ids: number[] = [];
      let total = -1;
      for (let page = 1; ; page++) {
        const b = (await (await get(`/repos/acme/checkout/actions/workflows/deploy.yml/runs?${q}&per_page=100&page=${page}`)).json()) as { total_count: number; workflow_runs: { id: number }[] };
        total = b.total_count;
        ids.push(...b.workflow_runs.map((r) => r.id));
        if (b.workflow_runs.length < 100) break;
      }
      expect(ids.length).toBe(total);
      return ids;
    };
    const all = runsOf(1, 'deploy.yml');
    const ids = (xs: SimWorkflowRun[]) => xs.map((r) => r.id);
    expect(await list('event=workflow_dispatch')).toEqual(ids(all.filter((r) => r.event === 'workflow_dispatch')));
    expect(await list('status=completed')).toEqual(ids(all.filter((r) => r.status === 'completed')));
    expect(await list('status=failure')).toEqual(ids(all.filter((r) => r.conclusion === 'failure')));
    expect(await list(`created=${encodeURIComponent('2026-09-01..2026-09-30')}`)).toEqual(ids(all.filter((r) => r.created_at >= '2026-09-01' && r.created_at < '2026-10-01')));
    expect(await list(`created=${encodeURIComponent('>=2026-11-01T12:00:00+00:00')}`)).toEqual(ids(all.filter((r) => ms(r.created_at) >= ms('2026-11-01T12:00:00Z'))));
    const bad = await get('/repos/acme/checkout/actions/workflows/deploy.yml/runs?created=last-week');
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ message: 'Validation Failed', errors: [{ field: 'created' }] });
  });

  it('reaches only the first N (GitHub: 1,000) results of a filtered listing; split by created they are all there', async () => {
    // This dataset has ~700 ci.yml runs on main: a cap of 400 shows the behaviour (the Redis
    // integration test meets GitHub's own 1,000 with a year of runs).
    const capped400 = await startGithubSimulator({ dataset: ds, token: TOKEN, now: () => clock, runListCap: 400 });
    try {
      const want = runsOf(0, 'ci.yml', 'main');
      expect(want.length).toBeGreaterThan(600);
      const octokit = octokitFor(capped400);
      const capped = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, { owner: 'acme', repo: 'payments', workflow_id: 'ci.yml', branch: 'main', per_page: 100 });
      expect(capped.map((r) => r.id)).toEqual(want.slice(0, 400).map((r) => r.id));
      const beyond = (await (await fetch(`${capped400.url}/repos/acme/payments/actions/workflows/ci.yml/runs?branch=main&per_page=100&page=5`, { headers: { authorization: `token ${TOKEN}` } })).json()) as { total_count: number; workflow_runs: unknown[] };
      expect(beyond).toEqual({ total_count: want.length, workflow_runs: [] });
      // Any of the search parameters caps; without them the list is not a search: all reachable.
      const byEvent = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, { owner: 'acme', repo: 'payments', workflow_id: 'ci.yml', event: 'pull_request', per_page: 100 });
      expect(byEvent.length).toBe(400);
      const allCi = ds.repos[0]!.runs.filter((r) => r.workflow === 'ci.yml').sort(newestFirst);
      const unfiltered = await octokit.rest.actions.listWorkflowRuns({ owner: 'acme', repo: 'payments', workflow_id: 'ci.yml', per_page: 100, page: 12 });
      expect(unfiltered.data.total_count).toBe(allCi.length);
      expect(unfiltered.data.workflow_runs.map((r) => r.id)).toEqual(allCi.slice(1100, 1200).map((r) => r.id));
      // created ranges under the cap hold everything.
      const parts: number[] = [];
      for (const created of ['>=2026-10-01', '2026-08-01..2026-09-30', '<2026-08-01']) {
        const got = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, { owner: 'acme', repo: 'payments', workflow_id: 'ci.yml', branch: 'main', created, per_page: 100 });
        expect(got.length).toBeLessThan(400);
        parts.push(...got.map((r) => r.id));
      }
      expect(parts).toEqual(want.map((r) => r.id));
    } finally {
      await capped400.close();
    }
  });

  it('answers If-None-Match with a free 304 until a run changes', async () => {
    const path = '/repos/acme/payments/actions/workflows/ci.yml/runs?branch=main&per_page=100';
    const first = await get(path);
    const etag = first.headers.get('etag')!;
    const remaining = Number(first.headers.get('x-ratelimit-remaining'));
    const again = await get(path, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(Number(again.headers.get('x-ratelimit-remaining'))).toBe(remaining);
    expect(sim.requests.at(-1)).toMatchObject({ status: 304, route: 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs' });
    const running = runsOf()[0]!;
    expect(running.status).toBe('in_progress');
    applyRunUpdate(ds, 'acme/payments', running.id, { status: 'completed', conclusion: 'success', updated_at: TO.getTime() + 5 * 60_000 });
    const changed = await get(path, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { workflow_runs: { id: number; status: string }[] }).workflow_runs[0]).toMatchObject({ id: running.id, status: 'completed' });
    const added = applyNewWorkflowRun(ds, 'acme/payments', { created_at: TO.getTime() + 60_000, status: 'queued' });
    const top = (await (await get(path)).json()) as { workflow_runs: { id: number; status: string; run_number: number }[] };
    expect(top.workflow_runs[0]).toMatchObject({ id: added.id, status: 'queued' });
    expect(added.id).toBeGreaterThan(running.id);
  });

  it('lists a run\'s artifacts and redirects downloads to a short-lived URL that refuses the token', async () => {
    const run = runsOf().find((r) => r.conclusion === 'success' && r.artifacts.some((a) => a.name === 'coverage' && !a.expired))!;
    const cov = run.artifacts.find((a) => a.name === 'coverage')!;
    const listRes = await get(`/repos/acme/payments/actions/runs/${run.id}/artifacts`);
    const list = (await listRes.json()) as { total_count: number; artifacts: Record<string, unknown>[] };
    expect(list.total_count).toBe(run.artifacts.length);
    const named = (await (await get(`/repos/acme/payments/actions/runs/${run.id}/artifacts?name=coverage`)).json()) as typeof list;
    expect(named.total_count).toBe(1);
    const zip = artifactZip('acme/payments', cov);
    expect(named.artifacts[0]).toMatchObject({
      id: cov.id,
      name: 'coverage',
      size_in_bytes: zip.length,
      expired: false,
      archive_download_url: `${sim.url}/repos/acme/payments/actions/artifacts/${cov.id}/zip`,
      created_at: cov.created_at,
      expires_at: cov.expires_at,
      workflow_run: { id: run.id, head_branch: 'main', head_sha: run.head_sha },
    });
    expect((await get(`/repos/acme/payments/actions/runs/1/artifacts`)).status).toBe(404);

    const before = sim.requests.length;
    const redirect = await get(`/repos/acme/payments/actions/artifacts/${cov.id}/zip`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('x-ratelimit-remaining')).not.toBeNull();
    const location = redirect.headers.get('location')!;
    expect(location.startsWith(`${sim.url}/_blob/artifacts/${cov.id}.zip?`)).toBe(true);
    expect(new URL(location).searchParams.get('sig')).toBeTruthy();
    // With the token, as fetch would follow the redirect on the same origin: refused.
    const withToken = await get(location);
    expect(withToken.status).toBe(400);
    expect(await withToken.text()).toContain('InvalidAuthenticationInfo');
    // Without it: the archive.
    const blob = await fetch(location);
    expect(blob.status).toBe(200);
    expect(blob.headers.get('content-type')).toBe('application/zip');
    expect(Buffer.from(await blob.arrayBuffer()).equals(zip)).toBe(true);
    const log = sim.requests.slice(before);
    expect(log.map((r) => [r.route, r.status, r.authorization])).toEqual([
      ['GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}', 302, true],
      ['GET /_blob/artifacts/{artifact_id}.zip', 400, true],
      ['GET /_blob/artifacts/{artifact_id}.zip', 200, false],
    ]);
    // Downloads do not spend the rate limit.
    const r1 = Number((await get('/rate_limit')).headers.get('x-ratelimit-remaining'));
    await fetch(location);
    expect(Number((await get('/rate_limit')).headers.get('x-ratelimit-remaining'))).toBe(r1);
    // A tampered or expired URL is refused.
    expect((await fetch(location.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(403);
    clock += 61_000;
    expect((await fetch(location)).status).toBe(403);
    clock -= 61_000;

    const expired = ds.repos[0]!.runs.flatMap((r) => r.artifacts).find((a) => a.expired)!;
    const gone = await get(`/repos/acme/payments/actions/artifacts/${expired.id}/zip`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { message: string }).message).toBe('Artifact has expired');
    expect((await get(`/repos/acme/payments/actions/artifacts/${cov.id}/tar`)).status).toBe(404);
    expect((await get(`/repos/acme/payments/actions/artifacts/${cov.id}/zip`, {}, null)).status).toBe(401);
  });

  it('lists the repository\'s artifacts newest first, filtered by name, in pages, with ETags', async () => {
    const all = ds.repos[0]!.runs.flatMap((run) => run.artifacts.map((a) => ({ run, a })));
    const covs = all.filter((x) => x.a.name === 'coverage').sort((x, y) => Date.parse(y.a.created_at) - Date.parse(x.a.created_at) || y.a.id - x.a.id);
    expect(covs.length).toBeGreaterThan(150);
    const path = '/repos/acme/payments/actions/artifacts?name=coverage&per_page=100';
    const first = await get(path);
    expect(first.status).toBe(200);
    expect(sim.requests.at(-1)).toMatchObject({ route: 'GET /repos/{owner}/{repo}/actions/artifacts' });
    const body = (await first.json()) as { total_count: number; artifacts: { id: number; name: string; expired: boolean; workflow_run: { id: number; head_branch: string; head_sha: string } }[] };
    expect(body.total_count).toBe(covs.length);
    expect(body.artifacts.map((a) => a.id)).toEqual(covs.slice(0, 100).map((x) => x.a.id));
    expect(body.artifacts.every((a) => a.name === 'coverage')).toBe(true);
    expect(body.artifacts[0]!.workflow_run).toMatchObject({ id: covs[0]!.run.id, head_branch: covs[0]!.run.head_branch, head_sha: covs[0]!.run.head_sha });
    expect(first.headers.get('link')).toContain('rel="next"');
    const second = (await (await get(`${path}&page=2`)).json()) as typeof body;
    expect(second.artifacts.map((a) => a.id)).toEqual(covs.slice(100, 200).map((x) => x.a.id));
    // Without a name: every artifact (test-results too).
    expect(((await (await get('/repos/acme/payments/actions/artifacts?per_page=1')).json()) as typeof body).total_count).toBe(all.length);
    // Unchanged: a free 304.
    const latest = await get(path);
    expect(latest.headers.get('etag')).toBe(first.headers.get('etag'));
    const remaining = Number(latest.headers.get('x-ratelimit-remaining'));
    const again = await get(path, { 'if-none-match': first.headers.get('etag')! });
    expect(again.status).toBe(304);
    expect(Number(again.headers.get('x-ratelimit-remaining'))).toBe(remaining);
  });

  it('serves the download through Octokit with redirect: manual', async () => {
    const octokit = octokitFor(sim);
    const cov = runsOf().flatMap((r) => r.artifacts).find((a) => a.name === 'coverage' && !a.expired)!;
    const res = await octokit.rest.actions.downloadArtifact({ owner: 'acme', repo: 'payments', artifact_id: cov.id, archive_format: 'zip', request: { redirect: 'manual' } });
    expect(res.status).toBe(302);
    const zip = Buffer.from(await (await fetch(res.headers.location!)).arrayBuffer());
    expect((await coverageFromZip(zip)).format).toBe(cov.coverage!.format);
    // Octokit's default (fetch follows with the token) gets the storage's refusal.
    await expect(octokit.rest.actions.downloadArtifact({ owner: 'acme', repo: 'payments', artifact_id: cov.id, archive_format: 'zip' })).rejects.toMatchObject({ status: 400 });
  });
});
