// The simulated GitHub (connectors/github/sim): its dataset and its REST API, checked with plain
// fetch and with the Octokit the connector uses (throttling + retry plugins).
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyNewDeployment,
  applyNewStatus,
  generateGithubDataset,
  lastStatus,
  type GithubDataset,
  type SimDeployment,
  type SimRepo,
} from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { expectedCompare } from './helpers/expected.js';

const TOKEN = 'ghp_simulated_token_for_tests';
const REPOS = ['acme/payments', 'acme/checkout'];
const FROM = new Date('2026-06-01T00:00:00Z');
const TO = new Date('2026-11-25T00:00:00Z');
const gen = (seed = 42) => generateGithubDataset({ seed, repos: REPOS, from: FROM, to: TO });

const KrtOctokit = Octokit.plugin(throttling, retry);
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
function octokitFor(sim: GithubSimulator, token = TOKEN) {
  return new KrtOctokit({
    auth: token,
    baseUrl: sim.url,
    log: silent,
    throttle: { onRateLimit: () => false, onSecondaryRateLimit: () => false },
    retry: { retryAfterBaseValue: 1 },
  });
}

/** GitHub's order: created_at desc, then id desc. */
const githubOrder = (a: SimDeployment, b: SimDeployment) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;

function parseLink(link: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of link.split(', ')) {
    const m = /^<([^>]+)>; rel="(next|prev|last|first)"$/.exec(part);
    if (!m) throw new Error(`malformed Link part: ${part}`);
    out[m[2] as string] = m[1] as string;
  }
  return out;
}

const successful = (repo: SimRepo, env: string) =>
  repo.deployments
    .filter((d) => d.environment === env)
    .map((d) => ({ d, last: d.statuses.filter((s) => s.state !== 'inactive').at(-1) }))
    .filter((x) => x.last?.state === 'success')
    .map((x) => ({ d: x.d, at: Date.parse(x.last!.created_at) }))
    .sort((a, b) => a.at - b.at || a.d.id - b.d.id);

describe('generateGithubDataset', () => {
  const ds = gen();

  it('is deterministic for a seed and differs between seeds', () => {
    expect(gen()).toEqual(ds);
    expect(JSON.stringify(gen(43))).not.toEqual(JSON.stringify(ds));
  });

  it('has a linear commit history with weekday-heavy activity', () => {
    for (const repo of ds.repos) {
      expect(repo.commits.length).toBeGreaterThan(300);
      const times = repo.commits.map((c) => Date.parse(c.date));
      for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
      expect(new Set(repo.commits.map((c) => c.sha)).size).toBe(repo.commits.length);
      for (const c of repo.commits) expect(c.sha).toMatch(/^[0-9a-f]{40}$/);
      const weekend = repo.commits.filter((c) => [0, 6].includes(new Date(c.date).getUTCDay())).length;
      expect(weekend / repo.commits.length).toBeLessThan(0.1);
    }
  });

  it('has unique ids that increase with time, ordered statuses and valid shas', () => {
    const deployments = ds.repos.flatMap((r) => r.deployments);
    expect(new Set(deployments.map((d) => d.id)).size).toBe(deployments.length);
    const byTime = [...deployments].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    for (let i = 1; i < byTime.length; i++) expect(byTime[i]!.id).toBeGreaterThan(byTime[i - 1]!.id);

    const statuses = deployments.flatMap((d) => d.statuses);
    expect(new Set(statuses.map((s) => s.id)).size).toBe(statuses.length);
    const sByTime = [...statuses].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    for (let i = 1; i < sByTime.length; i++) expect(sByTime[i]!.id).toBeGreaterThan(sByTime[i - 1]!.id);

    for (const repo of ds.repos) {
      const shas = new Set(repo.commits.map((c) => c.sha));
      for (const d of repo.deployments) {
        expect(shas.has(d.sha)).toBe(true);
        expect(Date.parse(d.created_at)).toBeGreaterThanOrEqual(FROM.getTime());
        expect(Date.parse(d.created_at)).toBeLessThanOrEqual(TO.getTime());
        let prev = Date.parse(d.created_at);
        let prevId = 0;
        for (const s of d.statuses) {
          expect(Date.parse(s.created_at)).toBeGreaterThanOrEqual(prev);
          expect(s.id).toBeGreaterThan(prevId);
          expect(s.environment).toBe(d.environment);
          prev = Date.parse(s.created_at);
          prevId = s.id;
        }
        if (d.statuses.length > 0) expect(d.updated_at).toBe(d.statuses.at(-1)!.created_at);
        // Only the final state may follow a start; `inactive` comes only after a success.
        const states = d.statuses.map((s) => s.state);
        const inactive = states.indexOf('inactive');
        if (inactive >= 0) {
          expect(states[inactive - 1]).toBe('success');
          expect(inactive).toBe(states.length - 1);
        }
      }
    }
  });

  it('marks the previous successful deployment inactive when the next one succeeds (auto_inactive)', () => {
    for (const repo of ds.repos) {
      for (const env of ['production', 'staging']) {
        const succ = successful(repo, env);
        expect(succ.length).toBeGreaterThan(50);
        succ.forEach(({ d }, i) => {
          const inactive = d.statuses.filter((s) => s.state === 'inactive');
          const next = succ[i + 1];
          if (next === undefined) {
            expect(inactive).toEqual([]);
          } else {
            expect(inactive.length).toBe(1);
            expect(Date.parse(inactive[0]!.created_at)).toBe(next.at);
          }
        });
        // Deployments that never succeeded are never marked inactive.
        for (const d of repo.deployments.filter((x) => x.environment === env && !x.statuses.some((s) => s.state === 'success'))) {
          expect(d.statuses.some((s) => s.state === 'inactive')).toBe(false);
        }
      }
    }
  });

  it('has realistic outcomes, redeploys, rollbacks, a pending and status-less deployments', () => {
    const all = ds.repos.flatMap((r) => r.deployments);
    const finals = all.map((d) => d.statuses.filter((s) => s.state !== 'inactive').at(-1)?.state ?? 'none');
    const share = (st: string) => finals.filter((f) => f === st).length / all.length;
    expect(share('success')).toBeGreaterThan(0.82);
    expect(share('success')).toBeLessThan(0.94);
    expect(share('failure') + share('error')).toBeGreaterThan(0.04);
    expect(finals.filter((f) => f === 'none')).toHaveLength(2);
    expect(finals.filter((f) => f === 'pending')).toHaveLength(1);
    const pending = all.find((d) => lastStatus(d)?.state === 'pending')!;
    const payProd = ds.repos[0]!.deployments.filter((d) => d.environment === 'production').sort(githubOrder);
    expect(payProd[0]).toBe(pending);

    for (const repo of ds.repos) {
      const succ = successful(repo, 'production');
      let rollbacks = 0;
      let sameSha = 0;
      const seen = new Set<string>();
      succ.forEach(({ d }, i) => {
        const prev = succ[i - 1];
        if (prev && d.sha === prev.d.sha) sameSha++;
        if (prev && d.sha !== prev.d.sha && seen.has(d.sha)) {
          rollbacks++;
          expect(d.ref).toBe(d.sha);
          expect(d.description).toMatch(/^Rollback to /);
        }
        seen.add(d.sha);
      });
      expect(rollbacks).toBeGreaterThanOrEqual(1);
      expect(sameSha).toBeGreaterThanOrEqual(1);
      // A "deploy more often" trajectory: the last two months beat the first two.
      const inMonths = (months: string[]) => succ.filter(({ d }) => months.includes(d.created_at.slice(0, 7))).length;
      expect(inMonths(['2026-09', '2026-10'])).toBeGreaterThan(inMonths(['2026-06', '2026-07']));
      // Mostly on weekdays.
      const weekend = succ.filter(({ d }) => [0, 6].includes(new Date(d.created_at).getUTCDay())).length;
      expect(weekend / succ.length).toBeLessThan(0.1);
    }
  });
});

describe('simulated GitHub REST API', () => {
  let ds: GithubDataset;
  let sim: GithubSimulator;
  const get = (path: string, headers: Record<string, string> = {}, token: string | null = TOKEN) =>
    fetch(path.startsWith('http') ? path : sim.url + path, { headers: { ...(token ? { authorization: `token ${token}` } : {}), ...headers } });

  beforeAll(async () => {
    ds = gen();
    sim = await startGithubSimulator({ dataset: ds, token: TOKEN });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('serves deployments newest first with GitHub fields and well-formed Link headers', async () => {
    const repo = ds.repos[0]!;
    const expected = repo.deployments.filter((d) => d.environment === 'production').sort(githubOrder);
    const res = await get('/repos/acme/payments/deployments?environment=production&per_page=50');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-github-api-version-selected')).toBe('2022-11-28');
    expect(res.headers.get('x-github-request-id')).toMatch(/^[0-9A-F]+(:[0-9A-F]+){4}$/);
    expect(res.headers.get('etag')).toMatch(/^W\/"[0-9a-f]{40}"$/);
    const body = (await res.json()) as Record<string, unknown>[];
    expect(body.map((d) => d.id)).toEqual(expected.slice(0, 50).map((d) => d.id));
    const d0 = body[0]!;
    expect(d0).toMatchObject({
      url: `${sim.url}/repos/acme/payments/deployments/${expected[0]!.id}`,
      statuses_url: `${sim.url}/repos/acme/payments/deployments/${expected[0]!.id}/statuses`,
      repository_url: `${sim.url}/repos/acme/payments`,
      sha: expected[0]!.sha,
      environment: 'production',
      task: 'deploy',
      creator: { login: 'github-actions[bot]', type: 'Bot' },
    });
    expect(typeof d0.node_id).toBe('string');

    const lastPage = Math.ceil(expected.length / 50);
    const l1 = parseLink(res.headers.get('link')!);
    expect(Object.keys(l1).sort()).toEqual(['last', 'next']);
    expect(new URL(l1.next!).searchParams.get('page')).toBe('2');
    expect(new URL(l1.last!).searchParams.get('page')).toBe(String(lastPage));
    expect(new URL(l1.next!).searchParams.get('environment')).toBe('production');
    expect(l1.next!.startsWith(sim.url + '/repos/acme/payments/deployments?')).toBe(true);

    const mid = await get('/repos/acme/payments/deployments?environment=production&per_page=50&page=2');
    expect(Object.keys(parseLink(mid.headers.get('link')!)).sort()).toEqual(['first', 'last', 'next', 'prev']);
    expect(mid.headers.get('link')).toMatch(/^<[^>]+page=1[^>]*>; rel="prev", <[^>]+page=3[^>]*>; rel="next", <[^>]+>; rel="last", <[^>]+page=1[^>]*>; rel="first"$/);

    // Walking `next` links visits every deployment once.
    const seen: number[] = [];
    let next: string | undefined = `${sim.url}/repos/acme/payments/deployments?environment=production&per_page=50`;
    while (next) {
      const r = await get(next);
      seen.push(...((await r.json()) as { id: number }[]).map((d) => d.id));
      const link = r.headers.get('link');
      next = link ? parseLink(link).next : undefined;
    }
    expect(seen).toEqual(expected.map((d) => d.id));

    // Default page size 30, capped at 100; filters.
    expect(((await (await get('/repos/acme/payments/deployments')).json()) as unknown[]).length).toBe(30);
    expect(((await (await get('/repos/acme/payments/deployments?per_page=500')).json()) as unknown[]).length).toBe(100);
    const bySha = (await (await get(`/repos/acme/payments/deployments?sha=${expected[5]!.sha}`)).json()) as { sha: string }[];
    expect(bySha.length).toBeGreaterThan(0);
    expect(bySha.every((d) => d.sha === expected[5]!.sha)).toBe(true);
    expect(await (await get('/repos/acme/payments/deployments?task=migrate')).json()).toEqual([]);
  });

  it('octokit.paginate returns every deployment of the environment once, in GitHub order', async () => {
    const octokit = octokitFor(sim);
    for (const repo of ds.repos) {
      const [owner, name] = repo.fullName.split('/') as [string, string];
      for (const environment of ['production', 'staging']) {
        const expected = repo.deployments.filter((d) => d.environment === environment).sort(githubOrder);
        const got = await octokit.paginate(octokit.rest.repos.listDeployments, { owner, repo: name, environment, per_page: 100 });
        expect(got.map((d) => d.id)).toEqual(expected.map((d) => d.id));
      }
    }
    // Statuses, newest first, with the fields the connector reads.
    const d = ds.repos[0]!.deployments.find((x) => x.statuses.length >= 4)!;
    const statuses = await octokit.paginate(octokit.rest.repos.listDeploymentStatuses, { owner: 'acme', repo: 'payments', deployment_id: d.id, per_page: 2 });
    expect(statuses.map((s) => s.id)).toEqual([...d.statuses].reverse().map((s) => s.id));
    expect(statuses[0]).toMatchObject({
      state: d.statuses.at(-1)!.state,
      created_at: d.statuses.at(-1)!.created_at,
      environment: d.environment,
      deployment_url: `${sim.url}/repos/acme/payments/deployments/${d.id}`,
    });
    const one = await octokit.rest.repos.getDeployment({ owner: 'acme', repo: 'payments', deployment_id: d.id });
    expect(one.data).toMatchObject({ id: d.id, sha: d.sha, ref: d.ref, created_at: d.created_at });
    const repoRes = await octokit.rest.repos.get({ owner: 'acme', repo: 'checkout' });
    expect(repoRes.data).toMatchObject({ full_name: 'acme/checkout', default_branch: 'main' });
  });

  it('answers a matching If-None-Match with 304 without spending the rate limit, and a new ETag after changes', async () => {
    const path = '/repos/acme/checkout/deployments?environment=production&per_page=100';
    const first = await get(path);
    const etag = first.headers.get('etag')!;
    const remaining = Number(first.headers.get('x-ratelimit-remaining'));
    const before = sim.counts().notModified;

    const again = await get(path, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(Number(again.headers.get('x-ratelimit-remaining'))).toBe(remaining);
    expect(sim.counts().notModified).toBe(before + 1);
    expect(sim.requests.at(-1)).toMatchObject({ status: 304, ifNoneMatch: true, route: 'GET /repos/{owner}/{repo}/deployments' });

    // Octokit turns a 304 into an error with status 304.
    const octokit = octokitFor(sim);
    await expect(
      octokit.request('GET /repos/{owner}/{repo}/deployments', { owner: 'acme', repo: 'checkout', environment: 'production', per_page: 100, headers: { 'if-none-match': etag } }),
    ).rejects.toMatchObject({ status: 304 });

    // A new deployment, then a status on it: the list and the statuses change ETags.
    const added = applyNewDeployment(ds, 'acme/checkout', { environment: 'production', statuses: [{ state: 'in_progress' }] });
    const changed = await get(path, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(Number(changed.headers.get('x-ratelimit-remaining'))).toBe(remaining - 1);
    const list = (await changed.json()) as { id: number }[];
    expect(list[0]!.id).toBe(added.id);

    const sPath = `/repos/acme/checkout/deployments/${added.id}/statuses`;
    const s1 = await get(sPath);
    const sEtag = s1.headers.get('etag')!;
    expect((await get(sPath, { 'if-none-match': sEtag })).status).toBe(304);
    const previouslyActive = successful(ds.repos[1]!, 'production').at(-1)!.d;
    const success = applyNewStatus(ds, 'acme/checkout', added.id, { state: 'success' });
    const s2 = await get(sPath, { 'if-none-match': sEtag });
    expect(s2.status).toBe(200);
    expect(((await s2.json()) as { id: number; state: string }[])[0]).toMatchObject({ id: success.id, state: 'success' });
    // auto_inactive on the live dataset too.
    expect(lastStatus(previouslyActive)).toMatchObject({ state: 'inactive', created_at: success.created_at });
    expect(lastStatus(previouslyActive)!.id).toBeGreaterThan(success.id);
  });

  it('pages compare results and caps unpaged compares at the last 250 commits', async () => {
    const repo = ds.repos[0]!;
    const base = repo.commits[10]!;
    const head = repo.commits[400]!;
    const range = expectedCompare(ds, 'acme/payments', base.sha, head.sha);
    const n = range.length;
    expect(n).toBeGreaterThan(390); // the 390 commits of the line and the feature branches merged into it
    const path = `/repos/acme/payments/compare/${base.sha}...${head.sha}`;

    const unpaged = await get(path);
    expect(unpaged.status).toBe(200);
    expect(unpaged.headers.get('link')).toBeNull();
    const u = (await unpaged.json()) as { total_commits: number; ahead_by: number; behind_by: number; status: string; commits: { sha: string }[] };
    expect(u).toMatchObject({ total_commits: n, ahead_by: n, behind_by: 0, status: 'ahead' });
    expect(u.commits.map((c) => c.sha)).toEqual(range.slice(-250).map((c) => c.sha));

    const shas: string[] = [];
    let next: string | undefined = `${sim.url}${path}?per_page=100`;
    let pages = 0;
    while (next) {
      const r = await get(next);
      const body = (await r.json()) as { total_commits: number; commits: { sha: string; commit: { committer: { date: string }; author: { date: string }; message: string } }[] };
      expect(body.total_commits).toBe(n);
      for (const c of body.commits) {
        const want = range.find((x) => x.sha === c.sha)!;
        expect(c.commit.committer.date).toBe(want.date);
        expect(c.commit.message).toBe(want.message);
        expect(Date.parse(c.commit.author.date)).toBeLessThanOrEqual(Date.parse(want.date));
      }
      shas.push(...body.commits.map((c) => c.sha));
      pages++;
      const link = r.headers.get('link');
      next = link ? parseLink(link).next : undefined;
    }
    expect(pages).toBe(Math.ceil(n / 100));
    expect(shas).toEqual(range.map((c) => c.sha));

    // The same through Octokit's iterator.
    const octokit = octokitFor(sim);
    const viaOctokit: string[] = [];
    for await (const page of octokit.paginate.iterator(octokit.rest.repos.compareCommitsWithBasehead, {
      owner: 'acme',
      repo: 'payments',
      basehead: `${base.sha}...${head.sha}`,
      per_page: 100,
    })) {
      viaOctokit.push(...(page.data as unknown as { commits: { sha: string }[] }).commits.map((c) => c.sha));
    }
    expect(viaOctokit).toEqual(range.map((c) => c.sha));

    // Reversed, identical, branch names, unknown sha.
    expect(await (await get(`/repos/acme/payments/compare/${head.sha}...${base.sha}`)).json()).toMatchObject({ status: 'behind', behind_by: n, total_commits: 0, commits: [] });
    expect(await (await get(`/repos/acme/payments/compare/${base.sha}...${base.sha}`)).json()).toMatchObject({ status: 'identical', total_commits: 0 });
    const lastTwo = expectedCompare(ds, 'acme/payments', repo.commits.at(-3)!.sha, repo.commits.at(-1)!.sha).length;
    expect(await (await get(`/repos/acme/payments/compare/${repo.commits.at(-3)!.sha.slice(0, 7)}...main`)).json()).toMatchObject({ total_commits: lastTwo });
    expect((await get(`/repos/acme/payments/compare/${'0'.repeat(40)}...main`)).status).toBe(404);
  });

  it('rejects bad credentials with 401 and unknown things with 404', async () => {
    const bad = await get('/repos/acme/payments/deployments', {}, 'wrong');
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    expect((await get('/repos/acme/payments/deployments', {}, null)).status).toBe(401);
    expect((await fetch(`${sim.url}/rate_limit`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    await expect(octokitFor(sim, 'wrong').rest.repos.listDeployments({ owner: 'acme', repo: 'payments' })).rejects.toMatchObject({ status: 401 });

    const nf = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };
    for (const p of ['/repos/acme/nope/deployments', '/repos/acme/payments/deployments/1', '/repos/acme/payments/deployments/abc/statuses', '/nothing/here']) {
      const r = await get(p);
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual(nf);
    }
    expect(sim.counts().byRoute.unknown).toBeGreaterThanOrEqual(1);
  });

  it('retries through failNext with the retry plugin', async () => {
    const octokit = octokitFor(sim);
    const before = sim.requests.length;
    sim.failNext(2);
    const res = await octokit.rest.repos.get({ owner: 'acme', repo: 'payments' });
    expect(res.status).toBe(200);
    expect(sim.requests.slice(before).map((r) => r.status)).toEqual([502, 502, 200]);
    sim.failNext(1, 503);
    expect((await get('/rate_limit')).status).toBe(503);
  });
});

describe('rate limit', () => {
  it('counts requests, not 304s, and answers 403 with remaining 0 when exhausted', async () => {
    let clock = Date.parse('2026-11-25T12:00:00Z');
    const sim = await startGithubSimulator({ dataset: gen(), token: TOKEN, rateLimit: 10, now: () => clock });
    try {
      const get = (p: string, h: Record<string, string> = {}) => fetch(sim.url + p, { headers: { authorization: `Bearer ${TOKEN}`, ...h } });
      const r1 = await get('/repos/acme/payments');
      expect(r1.headers.get('x-ratelimit-limit')).toBe('10');
      expect(r1.headers.get('x-ratelimit-remaining')).toBe('9');
      expect(r1.headers.get('x-ratelimit-used')).toBe('1');
      expect(r1.headers.get('x-ratelimit-resource')).toBe('core');
      const reset = Number(r1.headers.get('x-ratelimit-reset'));
      expect(reset).toBe(clock / 1000 + 3600);
      expect((await get('/repos/acme/payments', { 'if-none-match': r1.headers.get('etag')! })).headers.get('x-ratelimit-remaining')).toBe('9');
      const rl = (await (await get('/rate_limit')).json()) as { resources: { core: { remaining: number } }; rate: { remaining: number; limit: number } };
      expect(rl.rate).toMatchObject({ remaining: 9, limit: 10 });

      sim.setRateLimit(10, 1);
      expect((await get('/repos/acme/payments/deployments')).headers.get('x-ratelimit-remaining')).toBe('0');
      const limited = await get('/repos/acme/payments/deployments');
      expect(limited.status).toBe(403);
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('x-ratelimit-reset')).toBe(String(reset));
      const body = (await limited.json()) as { message: string; documentation_url: string };
      expect(body.message).toMatch(/^API rate limit exceeded for /);
      expect(body.documentation_url).toMatch(/^https:\/\/docs\.github\.com\//);
      expect(sim.counts().rateLimited).toBe(1);

      // Octokit's throttling plugin sees the primary limit (onRateLimit says no retry here).
      let limitSeen = 0;
      const octokit = new KrtOctokit({
        auth: TOKEN,
        baseUrl: sim.url,
        log: silent,
        throttle: { onRateLimit: () => ((limitSeen++), false), onSecondaryRateLimit: () => false },
        retry: { retryAfterBaseValue: 1 },
      });
      await expect(octokit.rest.repos.listDeployments({ owner: 'acme', repo: 'payments' })).rejects.toMatchObject({ status: 403 });
      expect(limitSeen).toBe(1);

      // A new window restores the limit.
      clock += 3601_000;
      const fresh = await get('/repos/acme/payments');
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('x-ratelimit-remaining')).toBe('9');
      expect(Number(fresh.headers.get('x-ratelimit-reset'))).toBe(clock / 1000 + 3600);
    } finally {
      await sim.close();
    }
  });
});

describe('simulated GitHub: malformed items on demand', () => {
  it('corrupt() replaces fields of one deployment or status in REST answers, nowhere else', async () => {
    const ds = gen();
    const sim = await startGithubSimulator({ dataset: ds, token: TOKEN });
    try {
      const d = ds.repos[0]!.deployments.find((x) => x.environment === 'production' && x.statuses.length >= 2)!;
      const s = d.statuses[0]!;
      sim.corrupt('deployment', d.id, { created_at: 'garbage', sha: null });
      sim.corrupt('status', s.id, { id: 'abc' });
      const octokit = octokitFor(sim);
      const list = await octokit.paginate(octokit.rest.repos.listDeployments, { owner: 'acme', repo: 'payments', environment: 'production', per_page: 100 });
      const bad = list.filter((x) => x.created_at === 'garbage');
      expect(bad).toEqual([expect.objectContaining({ id: d.id, sha: null })]);
      expect(list.filter((x) => x.sha === null)).toHaveLength(1);
      const statuses = await octokit.rest.repos.listDeploymentStatuses({ owner: 'acme', repo: 'payments', deployment_id: d.id, per_page: 100 });
      expect(statuses.data.filter((x) => (x.id as unknown) === 'abc')).toHaveLength(1);
      expect(statuses.data.filter((x) => typeof x.id === 'number')).toHaveLength(d.statuses.length - 1);
    } finally {
      await sim.close();
    }
  });
});
