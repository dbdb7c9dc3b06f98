import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { syncCompares, type CompareSyncOptions } from '../connectors/github/compare.js';
import { syncDeployments } from '../connectors/github/deployments.js';
import { applyForcePush, applyNewCommit, applyNewDeployment, applyNewMerge, generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import type { Stat } from '../src/metrics/quantile.js';
import { leadTimeForChanges } from '../src/metrics/lead-time.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { CompareEvent } from '../src/core/events.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { expectedCompare, expectedLeadTimes, expectedStatistic } from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const ENVS = ['production', 'staging'];
const STATS: Stat[] = ['p50', 'p90', 'mean'];
const LIST = 'GET /repos/{owner}/{repo}/commits';
const COMPARE = 'GET /repos/{owner}/{repo}/compare/{basehead}';
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;
let now = TO;

/** One store per way of finding changes: the branch history (the default) and one compare per pair. */
const stores: Record<'history' | 'compare', Store> = {
  history: new RedisStore({ redis, prefix: `${prefix}:history` }),
  compare: new RedisStore({ redis, prefix: `${prefix}:compare` }),
};
let fallbacks: string[] = [];

beforeAll(async () => {
  const dataset = generateGithubDataset({ seed: 11, repos: REPOS, from: new Date(TO - 120 * DAY), to: new Date(TO) });
  sim = await startGithubSimulator({ dataset, token: 'good-token' });
});
afterAll(async () => {
  await (sim as GithubSimulator | undefined)?.close(); // undefined when beforeAll failed
  await cleanup();
  redis.disconnect();
});

const opts = (store: Store, mode: CompareSyncOptions['mode'], extra: Partial<CompareSyncOptions> = {}): CompareSyncOptions => ({
  client: createGithubClient({ baseUrl: sim.url, token: 'good-token', logger, retryBaseMs: 5 }),
  store,
  now: () => now,
  mode,
  onFallback: (pairs) => fallbacks.push(...pairs),
  ...extra,
});

/** Syncs deployments, then the compare streams; returns what the compare streams asked. */
async function sync(store: Store, mode: CompareSyncOptions['mode'], extra: Partial<CompareSyncOptions> = {}) {
  for (const repo of REPOS) for (const env of ENVS) await syncDeployments(opts(store, mode), repo, env);
  fallbacks = [];
  const before = sim.requests.length;
  let requests = 0;
  let notModified = 0;
  for (const repo of REPOS) {
    for (const env of ENVS) {
      const r = await syncCompares(opts(store, mode, extra), repo, env);
      requests += r.requests;
      notModified += r.notModified;
    }
  }
  const made = sim.requests.slice(before);
  expect(made.length).toBe(requests);
  return { made, requests, notModified, list: made.filter((r) => r.route === LIST), compares: made.filter((r) => r.route === COMPARE) };
}

const comparesOf = async (store: Store) => (await Promise.all(REPOS.map((r) => store.getEvents('compare', r)))).flat().sort((a, b) => (a.repo + a.id < b.repo + b.id ? -1 : 1));

/** Both stores hold the same compares, equal to the simulated compare over the commit graph; lead times agree. */
async function expectSameAsCompare(store: Store = stores.history) {
  const got = await comparesOf(store);
  const want = await comparesOf(stores.compare);
  expect(got.map((c) => c.id)).toEqual(want.map((c) => c.id));
  expect(got).toEqual(want);
  for (const c of got.filter((x) => x.base !== x.head).slice(-40)) {
    expect(c.commits.map((x) => x.sha).sort()).toEqual(expectedCompare(sim.dataset, c.repo, c.base, c.head).map((x) => x.sha).sort());
  }
  for (const env of ENVS) {
    const deployments = successfulDeployments((await Promise.all(REPOS.map((r) => store.getEvents('deployment', `${r}@${env}`)))).flat());
    for (const at of [now, now - 10 * DAY, now - 60 * DAY]) {
      for (const stat of STATS) {
        const w = { at, windowMs: 28 * DAY };
        const fromHistory = leadTimeForChanges(deployments, got, w, stat);
        expect(fromHistory).toBe(leadTimeForChanges(deployments, want, w, stat));
        const expected = expectedStatistic(expectedLeadTimes(sim.dataset, REPOS, env, at, 28), stat);
        if (expected === null) expect(fromHistory).toBeNull();
        else expect(fromHistory).toBeCloseTo(expected, 6);
      }
    }
  }
  return got;
}

function deploy(repo: string, env: string, sha: string | undefined, at: number) {
  return applyNewDeployment(sim.dataset, repo, { sha, environment: env, created_at: at, statuses: [{ state: 'in_progress' }, { state: 'success', created_at: at + 5 * MIN }] });
}

describe('GitHub commit list of the simulator', () => {
  it('lists a branch newest first with parents, pages with Link, prunes with since, 304 on its ETag', async () => {
    const repo = sim.dataset.repos[0]!;
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${sim.url}${path}`, { headers: { authorization: 'token good-token', ...headers } });
    const since = new Date(TO - 30 * DAY).toISOString();
    const path = `/repos/acme/payments/commits?since=${encodeURIComponent(since)}&per_page=100`;
    const first = await get(path);
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { sha: string; node_id: string; url: string; html_url: string; parents: { sha: string; url: string; html_url: string }[]; commit: { committer: { date: string }; author: { date: string }; message: string }; author: { login: string }; committer: { login: string } }[];
    expect(page1[0]!.sha).toBe(repo.commits.at(-1)!.sha);
    expect(page1[0]).toMatchObject({ url: `${sim.url}/repos/acme/payments/commits/${page1[0]!.sha}`, html_url: `https://github.com/acme/payments/commit/${page1[0]!.sha}` });
    expect(typeof page1[0]!.node_id).toBe('string');
    expect(page1[0]!.author.login).toBeTruthy();
    expect(page1[0]!.committer.login).toBe('web-flow');
    const link = first.headers.get('link')!;
    expect(link).toMatch(/rel="next"/);
    expect(link).toMatch(/rel="last"/);
    // Every page, through Octokit: each commit once, no commit older than since, the graph's parents.
    const octokit = createGithubClient({ baseUrl: sim.url, token: 'good-token', logger });
    const all = await octokit.paginate(octokit.rest.repos.listCommits, { owner: 'acme', repo: 'payments', since, per_page: 100 });
    expect(all.slice(0, 100).map((c) => c.sha)).toEqual(page1.map((c) => c.sha));
    expect(new Set(all.map((c) => c.sha)).size).toBe(all.length);
    const bySha = new Map([...repo.commits, ...repo.branchCommits].map((c) => [c.sha, c]));
    for (const c of all) {
      expect(Date.parse(c.commit.committer!.date!)).toBeGreaterThanOrEqual(Date.parse(since));
      expect(c.parents.map((p) => p.sha)).toEqual(bySha.get(c.sha)!.parents);
    }
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i]!.commit.committer!.date!)).toBeLessThanOrEqual(Date.parse(all[i - 1]!.commit.committer!.date!));
    // Merge commits bring their branch's commits into the listing.
    const merges = all.filter((c) => c.parents.length === 2);
    expect(merges.length).toBeGreaterThan(3);
    const line = new Set(repo.commits.map((c) => c.sha));
    expect(all.filter((c) => !line.has(c.sha)).length).toBeGreaterThan(merges.length);
    // What the listing holds is what is reachable from the head along commits not older than since.
    const want = new Set<string>();
    const todo = [repo.commits.at(-1)!.sha];
    for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
      const c = bySha.get(x)!;
      if (want.has(x) || Date.parse(c.date) < Date.parse(since)) continue;
      want.add(x);
      todo.push(...c.parents);
    }
    expect(new Set(all.map((c) => c.sha))).toEqual(want);

    expect((await get(path, { 'if-none-match': first.headers.get('etag')! })).status).toBe(304);
    // sha (a commit), until, and path (accepted: the dataset has no files).
    const head = repo.commits.at(-5)!;
    const untilIso = repo.commits.at(-7)!.date;
    const until = (await (await get(`/repos/acme/payments/commits?sha=${head.sha}&until=${encodeURIComponent(untilIso)}&path=src/app.ts&per_page=2`)).json()) as { sha: string }[];
    const older = [...bySha.values()].filter((c) => Date.parse(c.date) <= Date.parse(untilIso) && Date.parse(c.date) > Date.parse(untilIso) - 3 * DAY);
    const reach = new Set<string>();
    for (let x: string | undefined = head.sha, stack = [] as string[]; x !== undefined; x = stack.pop()) {
      if (reach.has(x) || !bySha.has(x)) continue;
      reach.add(x);
      stack.push(...bySha.get(x)!.parents);
    }
    const wantUntil = older.filter((c) => reach.has(c.sha)).sort((a, b) => Date.parse(b.date) - Date.parse(a.date)).slice(0, 2);
    expect(until.map((c) => c.sha)).toEqual(wantUntil.map((c) => c.sha));
    expect((await get(`/repos/acme/payments/commits?sha=${'0'.repeat(40)}`)).status).toBe(404);
  });
});

describe('Lead time from the branch history, against one compare per pair', () => {
  it('first sync: the same compares as one compare per pair, at about one request per 100 commits', async () => {
    const old = await sync(stores.compare, 'compare');
    expect(old.list).toEqual([]);
    const fresh = await sync(stores.history, 'history');
    expect(fresh.compares).toEqual([]);
    expect(fallbacks).toEqual([]);
    const got = await expectSameAsCompare();
    // The compared ranges hold merge commits and the commits of their branches.
    const branch = new Set(sim.dataset.repos.flatMap((r) => r.branchCommits.map((c) => c.sha)));
    expect(got.flatMap((c) => c.commits).filter((c) => branch.has(c.sha)).length).toBeGreaterThan(50);
    for (const repo of REPOS) {
      const listed = (await stores.history.getEvents('commit', repo)).length;
      const pages = fresh.list.filter((r) => r.path.includes(`/repos/${repo}/commits`)).length;
      // A full listing, then per environment at most a listing of an older range and one page 1.
      expect(pages).toBeLessThanOrEqual(Math.ceil(listed / 100) + 3);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(listed / 100));
    }
    expect(fresh.requests * 10).toBeLessThan(old.requests);
  }, 300_000);

  it('an unchanged re-sync asks nothing; a redeploy or rollback of listed commits costs one free 304', async () => {
    expect((await sync(stores.history, 'history')).requests).toBe(0);
    const repo = 'acme/checkout';
    const deployed = successfulDeployments(await stores.history.getEvents('deployment', `${repo}@production`));
    now = TO + 2 * HOUR;
    deploy(repo, 'production', deployed.at(-3)!.sha, TO + HOUR); // a rollback: no new commits
    await sync(stores.compare, 'compare');
    const r = await sync(stores.history, 'history');
    expect(r.made.map((x) => [x.route, x.status])).toEqual([[LIST, 304]]);
    expect(r.made[0]!.ifNoneMatch).toBe(true);
    await expectSameAsCompare();
  }, 300_000);

  it('a new commit and its deployment cost one request; a merge of an older branch one or two', async () => {
    const repo = 'acme/payments';
    const c = applyNewCommit(sim.dataset, repo, { date: TO + 3 * HOUR });
    deploy(repo, 'production', c.sha, TO + 3 * HOUR + 10 * MIN);
    now = TO + 4 * HOUR;
    await sync(stores.compare, 'compare');
    const one = await sync(stores.history, 'history');
    expect(one.made.map((x) => [x.route, x.status])).toEqual([[LIST, 200]]);
    await expectSameAsCompare();

    // A feature branch forked four days ago from an older commit, with commits from then on.
    const line = sim.dataset.repos.find((r) => r.fullName === repo)!.commits;
    const fork = line.filter((x) => Date.parse(x.date) < TO - 4 * DAY).at(-1)!;
    const { merge, branch } = applyNewMerge(sim.dataset, repo, { forkFrom: fork.sha, branchDates: [TO - 4 * DAY + HOUR, TO - 2 * DAY, TO - DAY], date: TO + 5 * HOUR });
    deploy(repo, 'production', merge.sha, TO + 5 * HOUR + 10 * MIN);
    deploy(repo, 'staging', merge.sha, TO + 5 * HOUR + 30 * MIN);
    now = TO + 6 * HOUR;
    await sync(stores.compare, 'compare');
    const two = await sync(stores.history, 'history');
    expect(two.compares).toEqual([]);
    expect(two.list.filter((x) => x.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(two.list.filter((x) => x.status === 200).length).toBeLessThanOrEqual(2);
    expect(two.list.filter((x) => x.status !== 200).every((x) => x.status === 304)).toBe(true);
    const got = await expectSameAsCompare();
    const pair = got.find((x) => x.repo === repo && x.head === merge.sha && x.base === c.sha)!;
    expect(pair.commits.map((x) => x.sha)).toEqual(expect.arrayContaining([merge.sha, ...branch.map((b) => b.sha)]));
    expect(pair.commits).toHaveLength(branch.length + 1);
  }, 300_000);

  it('a merge of a branch older than the listed range: its pair is asked from compare, the listing reads at most 10 pages', async () => {
    // A history listed from the oldest deployment on (no margin), so that older commits are left out.
    const edge = new RedisStore({ redis, prefix: `${prefix}:edge` });
    await sync(edge, 'history', { historyMarginMs: 0 });
    await expectSameAsCompare(edge);
    const repo = 'acme/payments';
    const line = sim.dataset.repos.find((r) => r.fullName === repo)!.commits;
    const ancient = line[1]!;
    const { merge } = applyNewMerge(sim.dataset, repo, { forkFrom: ancient.sha, branchDates: [Date.parse(ancient.date) + HOUR], date: TO + 6 * HOUR + 30 * MIN });
    const prev = successfulDeployments(await stores.history.getEvents('deployment', `${repo}@production`)).at(-1)!;
    deploy(repo, 'production', merge.sha, TO + 6 * HOUR + 40 * MIN);
    now = TO + 7 * HOUR;
    await sync(stores.compare, 'compare');
    // The history listed 14 days before the first deployment holds the old fork point: no compare.
    expect((await sync(stores.history, 'history')).compares).toEqual([]);
    expect(fallbacks).toEqual([]);
    await expectSameAsCompare();
    const r = await sync(edge, 'history', { historyMarginMs: 0 });
    expect(fallbacks).toEqual([`${prev.sha}...${merge.sha}`]);
    expect(r.compares.length).toBe(1);
    // Its branch's parent is never listed: reading goes on past page 1, to the listing's end or the cap.
    expect(r.list.length).toBeGreaterThan(1);
    expect(r.list.length).toBeLessThanOrEqual(10);
    await expectSameAsCompare(edge);
  }, 300_000);

  it('a rebase merge and a force-push: the stored history still connects the old line to the new', async () => {
    const repo = 'acme/checkout';
    // Rebase and merge: the branch's commits land one after the other with the merge time as committer date.
    const rebased = [1, 2, 3].map((i) => applyNewCommit(sim.dataset, repo, { date: TO + 7 * HOUR + i * 1000, message: `feat: rebased ${i} (#9${i})` }));
    deploy(repo, 'production', rebased.at(-1)!.sha, TO + 7 * HOUR + 10 * MIN);
    now = TO + 8 * HOUR;
    await sync(stores.compare, 'compare');
    await sync(stores.history, 'history');
    await expectSameAsCompare();

    // History rewritten: the last two commits replaced, main moves to the new line, the deployed old head stays.
    const line = sim.dataset.repos.find((r) => r.fullName === repo)!.commits;
    const { dropped, added } = applyForcePush(sim.dataset, repo, { keep: line.length - 2, rewrite: 3, date: TO + 9 * HOUR, oldRef: 'backup/main' });
    expect(dropped.map((d) => d.sha)).toContain(rebased.at(-1)!.sha);
    deploy(repo, 'production', added.at(-1)!.sha, TO + 9 * HOUR + 10 * MIN);
    now = TO + 10 * HOUR;
    await sync(stores.compare, 'compare');
    const r = await sync(stores.history, 'history');
    expect(r.compares).toEqual([]);
    expect(fallbacks).toEqual([]);
    const got = await expectSameAsCompare();
    const pair = got.find((x) => x.repo === repo && x.base === rebased.at(-1)!.sha && x.head === added.at(-1)!.sha)!;
    expect(pair.commits.map((x) => x.sha)).toEqual(added.map((x) => x.sha));
  }, 300_000);

  it('listed only after the force-push, the old line is not in the history: those pairs are asked from compare', async () => {
    const late = new RedisStore({ redis, prefix: `${prefix}:late` });
    const r = await sync(late, 'history');
    // Pairs with the dropped shas cannot be computed from main's listing: compare answers them.
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(r.compares.length).toBe(fallbacks.length);
    const dropped = new Set(sim.dataset.repos.find((x) => x.fullName === 'acme/checkout')!.branchCommits.map((c) => c.sha));
    for (const id of fallbacks) expect(id.split('...').some((sha) => dropped.has(sha))).toBe(true);
    const got: CompareEvent[] = await expectSameAsCompare(late);
    expect(got.length).toBeGreaterThan(100);
    expect(r.list.length).toBeLessThanOrEqual(REPOS.reduce((n, repo) => n + Math.ceil(sim.dataset.repos.find((x) => x.fullName === repo)!.commits.length / 50), 0));
  }, 300_000);
});
