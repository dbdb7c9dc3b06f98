import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { compareStreamOf, syncCompares } from '../connectors/github/compare.js';
import { syncDeployments } from '../connectors/github/deployments.js';
import { applyNewCommit, applyNewDeployment, generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import type { Stat } from '../src/metrics/quantile.js';
import { changeFailureRate } from '../src/metrics/change-failure-rate.js';
import { leadTimeForChanges } from '../src/metrics/lead-time.js';
import { rollbackRate } from '../src/metrics/rollback-rate.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { IncidentEvent } from '../src/core/events.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import {
  expectedChangeFailureRate,
  expectedLeadTimes,
  expectedRollbackCount,
  expectedRollbackRate,
  expectedStatistic,
  successesOf,
} from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const ENV = 'production';
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;
let store: Store;
let now = TO;

beforeAll(async () => {
  const dataset = generateGithubDataset({ seed: 11, repos: REPOS, from: new Date(TO - 120 * DAY), to: new Date(TO) });
  sim = await startGithubSimulator({ dataset, token: 'good-token' });
  store = new RedisStore({ redis, prefix });
});
afterAll(async () => {
  await (sim as GithubSimulator | undefined)?.close(); // undefined when beforeAll failed
  await cleanup();
  redis.disconnect();
});

const opts = () => ({
  client: createGithubClient({ baseUrl: sim.url, token: 'good-token', logger, retryBaseMs: 5 }),
  store,
  now: () => now,
  // One compare per pair: the way the history path (test/github-history.redis.test.ts) falls back to.
  mode: 'compare' as const,
});

async function syncAll() {
  for (const repo of REPOS) await syncDeployments(opts(), repo, ENV);
  const reports = [];
  for (const repo of REPOS) reports.push(await syncCompares(opts(), repo, ENV));
  return reports;
}

async function fromStore() {
  const events = (await Promise.all(REPOS.map((r) => store.getEvents('deployment', `${r}@${ENV}`)))).flat();
  const compares = (await Promise.all(REPOS.map((r) => store.getEvents('compare', r)))).flat();
  return { deployments: successfulDeployments(events), compares };
}

const compareRequests = (since: number) => sim.requests.slice(since).filter((r) => r.route === 'GET /repos/{owner}/{repo}/compare/{basehead}');

// Incidents on a fixed grid, independent of the deployments: every 29 hours from 100 days before
// TO to 2 days after it (so some lie after t and inside an attribution window).
const incidentTimes: number[] = [];
for (let t = TO - 100 * DAY + 7 * MIN; t < TO + 2 * DAY; t += 29 * HOUR) incidentTimes.push(t);
const incidents: IncidentEvent[] = incidentTimes.map((t, i) => ({
  service: 'PPAYMNT',
  id: `Q${i}`,
  createdAt: t,
  resolvedAt: t + HOUR,
  acknowledgedAt: null,
  urgency: 'high',
  status: 'resolved',
}));

const STATS: Stat[] = ['p50', 'p75', 'p90', 'p95', 'p99', 'mean'];
const ATS = [TO, TO - 10 * DAY, TO - 45 * DAY, TO - 100 * DAY];

describe('GitHub compares between consecutive deployments (compare mode), against the simulated REST API', () => {
  it('stores the compare of every consecutive pair, paged with per_page, none for redeploys', async () => {
    const before = sim.requests.length;
    const reports = await syncAll();
    const made = compareRequests(before);
    for (const repo of REPOS) {
      const list = successesOf(sim.dataset, repo, ENV);
      const pairs = new Set(list.slice(1).map((d, i) => `${list[i]!.sha}...${d.sha}`));
      const stored = await store.getEvents('compare', repo);
      expect(stored.map((c) => c.id).sort()).toEqual([...pairs].sort());
      const redeploys = [...pairs].filter((p) => p.split('...')[0] === p.split('...')[1]);
      expect(redeploys.length).toBeGreaterThan(0);
      for (const p of redeploys) expect(stored.find((c) => c.id === p)?.commits).toEqual([]);
      expect(made.filter((r) => r.path.includes(`/repos/${repo}/compare/`)).length).toBe(pairs.size - redeploys.length);
    }
    expect(made.every((r) => r.status === 200 && new URL(r.path, 'http://x').searchParams.get('per_page') === '100')).toBe(true);
    expect(reports.map((r) => r.stream)).toEqual(REPOS.map((r) => compareStreamOf(r, ENV)));
    expect(reports.reduce((s, r) => s + r.requests, 0)).toBe(made.length);
  });

  it('the dataset has rollbacks, and they are exactly the deployments the simulator made as rollbacks', () => {
    for (const repo of REPOS) {
      const byDescription = successesOf(sim.dataset, repo, ENV).filter((d) => d.description?.startsWith('Rollback to'));
      expect(expectedRollbackCount(sim.dataset, [repo], ENV, TO, 200)).toBe(byDescription.length);
    }
    expect(expectedRollbackCount(sim.dataset, REPOS, ENV, TO, 200)).toBeGreaterThan(2);
  });

  it('lead time, change failure rate and rollback rate from the store equal the independent computation', async () => {
    const { deployments, compares } = await fromStore();
    let measured = 0;
    for (const at of ATS) {
      const w = { at, windowMs: 28 * DAY };
      for (const stat of STATS) {
        const want = expectedStatistic(expectedLeadTimes(sim.dataset, REPOS, ENV, at, 28), stat);
        const got = leadTimeForChanges(deployments, compares, w, stat);
        if (want === null) expect(got).toBeNull();
        else expect(got).toBeCloseTo(want, 6);
        if (want !== null) measured++;
      }
      for (const attribution of [DAY, 4 * HOUR]) {
        expect(changeFailureRate(deployments, incidents, w, attribution)).toBeCloseTo(expectedChangeFailureRate(sim.dataset, REPOS, ENV, incidentTimes, at, 28, attribution)!, 12);
      }
      expect(changeFailureRate(deployments, null, w, DAY)).toBeCloseTo(expectedChangeFailureRate(sim.dataset, REPOS, ENV, null, at, 28, DAY)!, 12);
      expect(rollbackRate(deployments, w)).toBeCloseTo(expectedRollbackRate(sim.dataset, REPOS, ENV, at, 28)!, 12);
    }
    expect(measured).toBeGreaterThan(0);
    // sanity: the metrics measure something non-trivial at TO
    const w = { at: TO, windowMs: 90 * DAY };
    expect(rollbackRate(deployments, w)).toBeGreaterThan(0);
    expect(changeFailureRate(deployments, null, w, DAY)).toBeGreaterThan(0);
    expect(changeFailureRate(deployments, incidents, w, DAY)!).toBeGreaterThan(changeFailureRate(deployments, null, w, DAY)!);
  });

  it('pages completely through a pair with more than 250 commits', async () => {
    const repo = 'acme/payments';
    const prev = successesOf(sim.dataset, repo, ENV).at(-1)!;
    const commits = [];
    for (let i = 1; i <= 300; i++) commits.push(applyNewCommit(sim.dataset, repo, { date: TO + i * MIN }));
    const d = applyNewDeployment(sim.dataset, repo, {
      created_at: TO + 310 * MIN,
      statuses: [{ state: 'in_progress' }, { state: 'success', created_at: TO + 320 * MIN }],
    });
    now = TO + 400 * MIN;
    const before = sim.requests.length;
    await syncAll();
    const made = compareRequests(before);
    const all = sim.dataset.repos.find((r) => r.fullName === repo)!.commits;
    const from = all.findIndex((c) => c.sha === prev.sha);
    const want = all.slice(from + 1);
    expect(want.length).toBeGreaterThanOrEqual(300);
    const pages = Array.from({ length: Math.ceil(want.length / 100) }, (_, i) => String(i + 1));
    expect(made.map((r) => new URL(r.path, 'http://x').searchParams.get('page'))).toEqual(pages);
    const stored = (await store.getEvents('compare', repo)).find((c) => c.id === `${prev.sha}...${d.sha}`);
    expect(stored?.commits.map((c) => c.sha)).toEqual(want.map((c) => c.sha));
    expect(stored?.commits.map((c) => c.committedAt)).toEqual(want.map((c) => Date.parse(c.date)));

    const { deployments, compares } = await fromStore();
    for (const at of [now, now - 5 * DAY]) {
      for (const stat of STATS) {
        const expected = expectedStatistic(expectedLeadTimes(sim.dataset, REPOS, ENV, at, 28), stat)!;
        expect(leadTimeForChanges(deployments, compares, { at, windowMs: 28 * DAY }, stat)).toBeCloseTo(expected, 6);
      }
    }
    // a two-hour window holds the new deployment alone: every one of its changes is measured
    const alone = leadTimeForChanges(deployments, compares, { at: now, windowMs: 2 * HOUR }, 'mean');
    const values = expectedLeadTimes(sim.dataset, REPOS, ENV, now, 1 / 12);
    expect(values.length).toBe(want.length);
    expect(alone).toBeCloseTo(expectedStatistic(values, 'mean')!, 6);
  });

  it('a second sync makes no compare requests', async () => {
    const before = sim.requests.length;
    const reports = await syncAll();
    expect(compareRequests(before)).toEqual([]);
    expect(reports.every((r) => r.requests === 0 && r.stored === 0)).toBe(true);
  });
});
