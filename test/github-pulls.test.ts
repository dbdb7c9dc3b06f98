// The GitHub pulls stream (connectors/github/pulls.ts) against the simulated REST and GraphQL APIs:
// merged PRs of the default branch with the earliest author date of their own commits, read
// incrementally, cheaply (one GraphQL point per 100 PRs, 304s while nothing moves), resuming after a
// crash, and skipping (and naming) a malformed item.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { pullsStreamOf, syncPulls, type PullsSyncOptions } from '../connectors/github/pulls.js';
import { applyNewPull, generateGithubDataset, type SimPull } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { MemoryStore } from '../src/store/memory-store.js';
import type { Store } from '../src/core/store.js';
import { crashingStore } from './helpers/crashing-store.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const TOKEN = 'pulls-token';
let sim: GithubSimulator;

beforeAll(async () => {
  sim = await startGithubSimulator({ dataset: generateGithubDataset({ seed: 5, repos: REPOS, from: new Date(TO - 60 * DAY), to: new Date(TO) }), token: TOKEN });
});
afterAll(async () => {
  await sim.close();
});

let now = TO;
const options = (store: Store, over: Partial<PullsSyncOptions> = {}): PullsSyncOptions => ({
  client: createGithubClient({ baseUrl: sim.url, token: TOKEN, logger: pino({ level: 'silent' }), retryBaseMs: 5 }),
  store,
  now: () => now,
  ...over,
});
const repoOf = (name: string) => sim.dataset.repos.find((r) => r.fullName === name)!;
/** What the stream must store for a PR, straight from the dataset. */
const wanted = (p: SimPull) => ({
  id: p.number,
  createdAt: Date.parse(p.created_at),
  mergedAt: Date.parse(p.merged_at!),
  mergeCommitSha: p.merge_commit_sha,
  firstCommitAt: Math.min(...p.commits.slice(0, 250).map((c) => Date.parse(c.authorDate))),
  commits: Math.min(250, p.commits.length),
});
const mergedIntoMain = (name: string) => (repoOf(name).pulls ?? []).filter((p) => p.merged_at !== null && p.base === 'main');
const since = (n: number) => sim.requests.slice(n);

describe('GitHub pulls stream', () => {
  const store = new MemoryStore();

  it('stores every PR merged into the default branch with its earliest commit author date, 100 PRs per GraphQL point', async () => {
    for (const repo of REPOS) {
      const before = sim.requests.length;
      const report = await syncPulls(options(store), repo);
      const merged = mergedIntoMain(repo);
      const got = (await store.getEvents('pull_request', repo)).sort((a, b) => a.id - b.id);
      expect(got.map(({ repo: _repo, ...rest }) => rest)).toEqual(merged.map(wanted));
      // Closed without merging and merged into a release branch: not stored.
      expect((repoOf(repo).pulls ?? []).some((p) => p.merged_at === null)).toBe(true);
      expect((repoOf(repo).pulls ?? []).some((p) => p.base !== 'main' && p.merged_at !== null)).toBe(true);
      // Every merge method, and a rebase whose first commit is not its oldest.
      expect(new Set(merged.map((p) => p.method))).toEqual(new Set(['merge', 'squash', 'rebase']));
      expect(merged.some((p) => p.method === 'rebase' && Math.min(...p.commits.map((c) => Date.parse(c.authorDate))) < Date.parse(p.commits[0]!.authorDate))).toBe(true);
      const log = since(before);
      const lists = log.filter((r) => r.route === 'GET /repos/{owner}/{repo}/pulls');
      const pages = Math.ceil((repoOf(repo).pulls ?? []).filter((p) => p.state === 'closed' && p.base === 'main').length / 100);
      expect(lists.length).toBe(pages);
      expect(lists.every((r) => /state=closed/.test(r.path) && /base=main/.test(r.path) && /sort=updated/.test(r.path) && /direction=desc/.test(r.path))).toBe(true);
      expect(report.graphqlPoints).toBe(Math.ceil(merged.length / 100));
      expect(log.filter((r) => r.route === 'GET /repos/{owner}/{repo}/pulls/{pull_number}/commits')).toEqual([]);
      expect(report.skipped).toEqual([]);
    }
  });

  it('answers from one free 304 while nothing changed', async () => {
    const before = sim.requests.length;
    const report = await syncPulls(options(store), 'acme/payments');
    expect(since(before).map((r) => [r.route, r.status])).toEqual([['GET /repos/{owner}/{repo}/pulls', 304]]);
    expect(report).toMatchObject({ requests: 1, notModified: 1, stored: 0, graphqlPoints: 0 });
  });

  it('picks up newly merged PRs of every method, reading only the new ones', async () => {
    now = TO + 2 * HOUR;
    const rebase = applyNewPull(sim.dataset, 'acme/payments', { method: 'rebase', createdAt: TO - 20 * HOUR, mergedAt: TO + HOUR, commits: [TO - 30 * HOUR, TO - 50 * HOUR, TO - 40 * HOUR] });
    const squash = applyNewPull(sim.dataset, 'acme/payments', { method: 'squash', createdAt: TO - 3 * HOUR, mergedAt: TO + 1.5 * HOUR, commits: [TO - 2 * HOUR, TO - HOUR] });
    const before = sim.requests.length;
    const report = await syncPulls(options(store), 'acme/payments');
    expect(report.stored).toBe(2);
    expect(report.graphqlPoints).toBe(1);
    expect(since(before).filter((r) => r.route === 'GET /repos/{owner}/{repo}/pulls').length).toBe(1);
    const got = new Map((await store.getEvents('pull_request', 'acme/payments')).map((e) => [e.id, e]));
    // The rebase's oldest commit is its second; the squash's merge commit is authored at the merge.
    expect(got.get(rebase.number)).toMatchObject({ firstCommitAt: TO - 50 * HOUR, mergeCommitSha: rebase.merge_commit_sha, commits: 3 });
    expect(got.get(squash.number)).toMatchObject({ firstCommitAt: TO - 2 * HOUR, mergedAt: TO + 1.5 * HOUR });
    const line = repoOf('acme/payments').commits;
    expect(line.at(-1)!.sha).toBe(squash.merge_commit_sha);
    expect(line.at(-2)!.sha).toBe(rebase.merge_commit_sha);
  });

  it('reads every commit of a long PR (GraphQL pages of 100, GitHub\'s cap of 250), as REST does', async () => {
    now = TO + 4 * HOUR;
    // Oldest author date on the 180th commit: past the first page, within the cap.
    const commits = Array.from({ length: 300 }, (_, k) => TO - (k === 179 ? 90 : 10) * HOUR + k * 1000);
    const long = applyNewPull(sim.dataset, 'acme/checkout', { method: 'merge', createdAt: TO - 5 * HOUR, mergedAt: TO + 3 * HOUR, commits });
    const viaGraphql = new MemoryStore();
    const viaRest = new MemoryStore();
    const g = await syncPulls(options(viaGraphql), 'acme/checkout');
    const r = await syncPulls(options(viaRest, { commits: 'rest' }), 'acme/checkout');
    const pick = async (s: Store) => (await s.getEvents('pull_request', 'acme/checkout')).sort((a, b) => a.id - b.id);
    expect(await pick(viaGraphql)).toEqual(await pick(viaRest));
    expect((await pick(viaGraphql)).find((e) => e.id === long.number)).toMatchObject({ firstCommitAt: commits[179], commits: 250 });
    // One query for the PRs' first pages, two more for the long PR's next 150 commits.
    expect(g.graphqlPoints).toBe(Math.ceil(mergedIntoMain('acme/checkout').length / 100) + 2);
    expect(r.graphqlPoints).toBe(0);
    expect(r.requests).toBeGreaterThan(mergedIntoMain('acme/checkout').length);
  });

  it('skips a malformed PR, naming it, and keeps the others', async () => {
    const fresh = new MemoryStore();
    const bad = mergedIntoMain('acme/payments').at(-3)!;
    sim.corrupt('pull', bad.number, { merged_at: 'yesterday' });
    const warnings: string[] = [];
    const report = await syncPulls(options(fresh, { logger: { warn: (_o: unknown, m: string) => warnings.push(m) } as never }), 'acme/payments');
    sim.corrupt('pull', bad.number, {});
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped[0]).toMatch(new RegExp(`pull request #${bad.number} skipped: merged_at is not an ISO 8601 timestamp \\("yesterday"\\)`));
    expect(warnings).toEqual(report.skipped);
    const ids = new Set((await fresh.getEvents('pull_request', 'acme/payments')).map((e) => e.id));
    expect(ids.has(bad.number)).toBe(false);
    expect(ids.size).toBe(mergedIntoMain('acme/payments').length - 1);
  });

  it('resumes a walk that died midway at the page it stopped on', async () => {
    const inner = new MemoryStore();
    await expect(syncPulls(options(crashingStore(inner, 2), { perPage: 50 }), 'acme/payments')).rejects.toThrow('killed');
    expect(await inner.getCursor(pullsStreamOf('acme/payments'))).toMatchObject({ walk: { nextPage: 2 } });
    const before = sim.requests.length;
    await syncPulls(options(inner, { perPage: 50 }), 'acme/payments');
    const pages = since(before).filter((r) => r.route === 'GET /repos/{owner}/{repo}/pulls').map((r) => new URL(r.path, sim.url).searchParams.get('page'));
    expect(pages[0]).toBe('1');
    expect(pages[1]).toBe('2');
    expect((await inner.getEvents('pull_request', 'acme/payments')).length).toBe(mergedIntoMain('acme/payments').length);
  });
});

describe('simulated GitHub pull requests API', () => {
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `token ${TOKEN}`, ...headers } });
    return { status: res.status, headers: res.headers, body: res.status === 200 ? ((await res.json()) as Record<string, unknown>[]) : null };
  };

  it('lists open PRs newest first by default, sorts by update, filters by state and base, and pages with Link', async () => {
    const all = repoOf('acme/payments').pulls!;
    const open = await get('/repos/acme/payments/pulls');
    expect(open.body!.map((p) => p.number)).toEqual(all.filter((p) => p.state === 'open').sort((a, b) => b.created_at.localeCompare(a.created_at) || b.number - a.number).map((p) => p.number).slice(0, 30));
    const page = await get('/repos/acme/payments/pulls?state=closed&base=main&sort=updated&direction=desc&per_page=20&page=2');
    const want = all.filter((p) => p.state === 'closed' && p.base === 'main').sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.number - a.number);
    expect(page.body!.map((p) => p.number)).toEqual(want.slice(20, 40).map((p) => p.number));
    expect(page.headers.get('link')).toMatch(/page=3>; rel="next".*rel="last".*page=1>; rel="first"/);
    const asc = await get('/repos/acme/payments/pulls?state=all&sort=updated&per_page=5');
    expect(asc.body!.map((p) => p.updated_at)).toEqual([...all].sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.number - b.number).slice(0, 5).map((p) => p.updated_at));
    const again = await get('/repos/acme/payments/pulls?state=closed&base=main&sort=updated&direction=desc&per_page=20&page=2', { 'if-none-match': page.headers.get('etag')! });
    expect(again.status).toBe(304);
    expect((await get('/repos/acme/payments/pulls?state=bogus')).status).toBe(422);
  });

  it('serves one PR and its own commits (author dates kept), 404 for an unknown number', async () => {
    const squash = repoOf('acme/payments').pulls!.find((p) => p.method === 'squash')!;
    const one = (await fetch(`${sim.url}/repos/acme/payments/pulls/${squash.number}`, { headers: { authorization: `token ${TOKEN}` } }).then((r) => r.json())) as Record<string, unknown>;
    expect(one).toMatchObject({ number: squash.number, merged_at: squash.merged_at, merge_commit_sha: squash.merge_commit_sha, base: { ref: 'main' } });
    const commits = await get(`/repos/acme/payments/pulls/${squash.number}/commits`);
    expect(commits.body!.map((c) => (c.commit as { author: { date: string } }).author.date)).toEqual(squash.commits.map((c) => c.authorDate));
    // The squash commit on the branch is authored at the merge, later than every commit of the PR.
    const onMain = (await fetch(`${sim.url}/repos/acme/payments/commits/${squash.merge_commit_sha}`, { headers: { authorization: `token ${TOKEN}` } }).then((r) => r.json())) as { commit: { author: { date: string } } };
    expect(onMain.commit.author.date).toBe(squash.merged_at);
    expect((await get('/repos/acme/payments/pulls/999999')).status).toBe(404);
  });

  it('answers GraphQL PullRequest.commits at GitHub\'s cost: commits(first: 100) under 100 ids is one point', async () => {
    const pulls = repoOf('acme/checkout').pulls!.slice(0, 100);
    const ids = await Promise.all(pulls.map(async (p) => ((await fetch(`${sim.url}/repos/acme/checkout/pulls/${p.number}`, { headers: { authorization: `token ${TOKEN}` } }).then((r) => r.json())) as { node_id: string }).node_id));
    const res = await fetch(`${sim.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequest { number commits(first: 100) { totalCount nodes { commit { authoredDate } } } } } rateLimit { cost } }', variables: { ids } }),
    });
    const body = (await res.json()) as { data: { nodes: { number: number; commits: { totalCount: number; nodes: { commit: { authoredDate: string } }[] } }[]; rateLimit: { cost: number } } };
    expect(body.data.rateLimit.cost).toBe(1);
    expect(body.data.nodes.map((n) => n.number)).toEqual(pulls.map((p) => p.number));
    expect(body.data.nodes.map((n) => n.commits.nodes.map((c) => c.commit.authoredDate))).toEqual(pulls.map((p) => p.commits.map((c) => c.authorDate)));
  });
});
