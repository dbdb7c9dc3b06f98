import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubConnector } from '../connectors/github/index.js';
import { createGithubClient } from '../connectors/github/client.js';
import { deploymentNodesBatcher, streamOf, syncDeployments, type DeploymentsCursor, type DeploymentsSyncReport } from '../connectors/github/deployments.js';
import { databaseIdFromNodeId, graphqlQuery } from '../connectors/github/graphql.js';
import { applyNewDeployment, applyNewStatus, generateGithubDataset, type GithubDataset, type SimDeployment } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { Secret } from '../src/core/secret.js';
import { RateLimitError, SourceError } from '../src/core/errors.js';
import { deploymentFrequency } from '../src/metrics/deployment-frequency.js';
import { successfulDeployments } from '../src/core/deployments.js';
import type { DeploymentEvent } from '../src/core/events.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';
import { crashingStore } from './helpers/crashing-store.js';

const DAY = 86_400_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;

beforeAll(async () => {
  const dataset = generateGithubDataset({ seed: 7, repos: REPOS, from: new Date(TO - 120 * DAY), to: new Date(TO) });
  sim = await startGithubSimulator({ dataset, token: 'good-token' });
});
afterAll(async () => {
  await sim.close();
  await cleanup();
  redis.disconnect();
});

let n = 0;
const freshStore = () => new RedisStore({ redis, prefix: `${prefix}-${n++}` });
const connector = (store: Store, token = 'good-token', perPage = 100) =>
  createGithubConnector({ source: { baseUrl: sim.url, token: new Secret('GITHUB_TOKEN', token) }, store, logger, now: () => TO, retryBaseMs: 5, perPage });

async function frequencyFromStore(store: Store, at: number) {
  const events = (await Promise.all(REPOS.map((r) => store.getEvents('deployment', `${r}@production`)))).flat();
  return deploymentFrequency(successfulDeployments(events), { at, windowMs: 28 * DAY });
}

describe('GitHub deployments sync against the simulated REST API', () => {
  const store = freshStore();

  it('pages through every deployment of the environment and stores each once', async () => {
    for (const repo of REPOS) await connector(store).sync(streamOf(repo, 'production'));
    for (const repo of REPOS) {
      const want = sim.dataset.repos.find((r) => r.fullName === repo)!.deployments.filter((d) => d.environment === 'production');
      const got = await store.getEvents('deployment', `${repo}@production`);
      expect(got.map((e) => e.id).sort()).toEqual(want.map((d) => d.id).sort());
      expect(want.length).toBeGreaterThan(100); // more than one page of 100
    }
    for (const at of [TO, TO - 30 * DAY, TO - 90 * DAY]) {
      expect(await frequencyFromStore(store, at)).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', at, 28), 12);
    }
  });

  it('a second sync of unchanged data costs no rate limit: every request is a 304', async () => {
    const before = sim.requests.length;
    const reports = [];
    for (const repo of REPOS) reports.push(await connector(store).sync(streamOf(repo, 'production')));
    const second = sim.requests.slice(before);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((r) => r.status === 304)).toBe(true);
    expect(reports.every((r) => r.stored === 0 && r.notModified === r.requests)).toBe(true);
  });

  it('a later sync fetches only what changed: a new deployment and its statuses', async () => {
    const d = applyNewDeployment(sim.dataset, 'acme/payments', {
      created_at: TO - 60_000,
      statuses: [{ state: 'in_progress' }, { state: 'success' }],
    });
    const before = sim.requests.length;
    const report = await connector(store).sync(streamOf('acme/payments', 'production'));
    const made = sim.requests.slice(before).filter((r) => r.status === 200);
    // page 1 of the list, then one GraphQL call for the new deployment's statuses (and those of
    // deployments whose updated_at moved); no REST statuses read
    expect(made.map((r) => r.route)).toEqual(['GET /repos/{owner}/{repo}/deployments', 'POST /graphql']);
    expect(made[1]!.points).toBe(1);
    expect(report.stored).toBeGreaterThanOrEqual(1);
    const stored = (await store.getEvents('deployment', 'acme/payments@production')).find((e) => e.id === d.id);
    expect(stored?.state).toBe('success');
    expect(await frequencyFromStore(store, TO)).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', TO, 28), 12);
  });
});

describe('failures', () => {
  it('a crash between pages resumes from the next page without loss or duplicates', async () => {
    const inner = freshStore();
    // A store that dies on page write 3, as a process killed mid-sync would.
    const crashing = crashingStore(inner, 3);
    const stream = streamOf('acme/payments', 'production');
    await expect(connector(crashing, 'good-token', 30).sync(stream)).rejects.toThrow('killed');
    const cursor = await inner.getCursor<DeploymentsCursor>(stream);
    expect(cursor?.walk?.nextPage).toBe(3);
    expect((await inner.getEvents('deployment', 'acme/payments@production')).length).toBe(60);

    const before = sim.requests.length;
    await connector(inner, 'good-token', 30).sync(stream);
    const lists = sim.requests.slice(before).filter((r) => /\/deployments$/.test(r.path.split('?')[0]!)).map((r) => new URL(r.path, 'http://x').searchParams.get('page'));
    expect(lists[0]).toBe('1'); // to see whether the list moved
    expect(lists).not.toContain('2'); // then straight on from page 3
    const want = sim.dataset.repos.find((r) => r.fullName === 'acme/payments')!.deployments.filter((d) => d.environment === 'production');
    const got = await inner.getEvents('deployment', 'acme/payments@production');
    expect(got.length).toBe(want.length);
    expect((await inner.getCursor<DeploymentsCursor>(stream))?.walk).toBeNull();
  });

  it('retries a 5xx and then succeeds', async () => {
    const store = freshStore();
    sim.failNext(2, 502);
    const report = await connector(store).sync(streamOf('acme/checkout', 'production'));
    expect(report.stored).toBeGreaterThan(0);
  });

  it('a bad token is a clear error that is not retried', async () => {
    const err = await connector(freshStore(), 'wrong').sync(streamOf('acme/checkout', 'production')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as SourceError).message).toMatch(/401.*sources\.github\.token/);
    expect((err as SourceError).message).not.toContain('wrong');
  });

  it('an unknown repository is a clear 404 error naming the fix', async () => {
    const err = await connector(freshStore()).sync(streamOf('acme/nope', 'production')).catch((e: unknown) => e);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as SourceError).message).toMatch(/404.*repos: in the OKR file/);
  });

  it('a spent rate limit becomes a RateLimitError with the reset time', async () => {
    sim.setRateLimit(5000, 0);
    try {
      const err = await connector(freshStore()).sync(streamOf('acme/checkout', 'production')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).resetAt).toBeGreaterThan(Date.now());
    } finally {
      sim.setRateLimit(5000);
    }
  });
});

/** The record each deployment should have, computed straight from the dataset. */
function expectedEvent(repo: string, d: SimDeployment): DeploymentEvent {
  const real = d.statuses.filter((s) => s.state !== 'inactive').sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
  const last = real.at(-1);
  return { repo, id: d.id, sha: d.sha, environment: d.environment, createdAt: Date.parse(d.created_at), state: last?.state ?? null, statusAt: last ? Date.parse(last.created_at) : null, statusId: last?.id ?? null };
}
const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
const SETTLE = 3 * DAY;
const FINAL = ['success', 'failure', 'error'];

describe('deployments + statuses cost: REST list, statuses of 100 older deployments per GraphQL point', () => {
  let own: GithubSimulator;
  let ds: GithubDataset;
  beforeAll(async () => {
    ds = generateGithubDataset({ seed: 11, repos: REPOS, from: new Date(TO - 200 * DAY), to: new Date(TO) });
    own = await startGithubSimulator({ dataset: ds, token: 'good-token' });
  });
  afterAll(async () => {
    await own.close();
  });
  const ownConnector = (store: Store) =>
    createGithubConnector({ source: { baseUrl: own.url, token: new Secret('GITHUB_TOKEN', 'good-token') }, store, logger, now: () => TO, retryBaseMs: 5 });

  it('stores exactly the records the statuses give, at (list pages) REST + (one point per page) GraphQL + REST only for unfinished deployments past page 1', async () => {
    for (const repo of REPOS) {
      for (const env of ['production', 'staging']) {
        const store = freshStore();
        const want = ds.repos.find((r) => r.fullName === repo)!.deployments.filter((d) => d.environment === env);
        const before = own.requests.length;
        const report = (await ownConnector(store).sync(streamOf(repo, env))) as DeploymentsSyncReport;
        const made = own.requests.slice(before);

        const got = await store.getEvents('deployment', `${repo}@${env}`);
        expect(got.sort(byId)).toEqual(want.map((d) => expectedEvent(repo, d)).sort(byId));

        const pages = Math.ceil(want.length / 100);
        const old = want.filter((d) => TO - Date.parse(d.created_at) > SETTLE);
        const unfinished = old.filter((d) => !FINAL.includes(expectedEvent(repo, d).state ?? ''));
        const recent = want.length - old.length;
        // Unsettled deployments past page 1 (which page 1's ETag does not cover) are read over REST.
        const page1 = new Set([...want].sort((a, b) => b.id - a.id).slice(0, 100).map((d) => d.id));
        const viaRest = want.filter((d) => !page1.has(d.id) && (TO - Date.parse(d.created_at) <= SETTLE || !FINAL.includes(expectedEvent(repo, d).state ?? '')));
        const graphql = made.filter((r) => r.route === 'POST /graphql');
        expect(made.filter((r) => r.route === 'GET /repos/{owner}/{repo}/deployments').length).toBe(pages);
        expect(graphql.length).toBe(pages);
        expect(graphql.every((r) => r.status === 200 && r.points === 1)).toBe(true);
        expect(made.filter((r) => r.route.endsWith('/statuses')).length).toBe(viaRest.length);
        expect(report.graphqlPoints).toBe(pages);
        expect(report.requests).toBe(made.length);
        expect(report.skipped).toEqual([]);
        expect(want.length).toBeGreaterThan(100);
        expect(recent + unfinished.length).toBeLessThan(want.length / 10);
      }
    }
  });

  it('an unchanged re-sync is only 304s, and a newly old deployment is not read again', async () => {
    const store = freshStore();
    const stream = streamOf('acme/checkout', 'staging');
    await ownConnector(store).sync(stream);
    const before = own.requests.length;
    const report = (await ownConnector(store).sync(stream)) as DeploymentsSyncReport;
    const again = own.requests.slice(before);
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((r) => r.status === 304)).toBe(true);
    expect(report.graphqlPoints).toBe(0);
  });

  it('a status added to a recent deployment is found by its moved updated_at: one list page and one GraphQL point, no REST statuses', async () => {
    const store = freshStore();
    const stream = streamOf('acme/payments', 'production');
    await ownConnector(store).sync(stream);
    const repo = ds.repos.find((r) => r.fullName === 'acme/payments')!;
    const prod = repo.deployments.filter((d) => d.environment === 'production').sort((a, b) => b.id - a.id);
    // A recent deployment that succeeded now fails (a new status), and a new one is pending.
    const changed = prod.find((d) => TO - Date.parse(d.created_at) <= SETTLE && expectedEvent('acme/payments', d).state === 'success')!;
    expect(changed).toBeDefined();
    applyNewStatus(ds, 'acme/payments', changed.id, { state: 'failure', created_at: TO - 60_000 });
    const pending = applyNewDeployment(ds, 'acme/payments', { environment: 'production', created_at: TO - 50_000, statuses: [{ state: 'queued', created_at: TO - 40_000 }] });
    const before = own.requests.length;
    const report = (await ownConnector(store).sync(stream)) as DeploymentsSyncReport;
    // Unfinished deployments past page 1 are re-checked over REST: free 304s.
    const charged = (from: number) => own.requests.slice(from).filter((r) => r.status !== 304);
    const made = charged(before);
    expect(own.requests.slice(before).filter((r) => r.status === 304).every((r) => r.route.endsWith('/statuses'))).toBe(true);
    expect(made.map((r) => `${r.route} ${r.status}`)).toEqual(['GET /repos/{owner}/{repo}/deployments 200', 'POST /graphql 200']);
    expect(report.graphqlPoints).toBe(1);
    const got = new Map((await store.getEvents('deployment', 'acme/payments@production')).map((e) => [e.id, e]));
    expect(got.get(changed.id)).toEqual(expectedEvent('acme/payments', changed));
    expect(got.get(changed.id)?.state).toBe('failure');
    expect(got.get(pending.id)?.state).toBe('queued');
    // Then nothing moved: page 1 answers 304, and nothing on it is asked again.
    const mark = own.requests.length;
    await ownConnector(store).sync(stream);
    const again = own.requests.slice(mark);
    expect(again.every((r) => r.status === 304)).toBe(true);
    expect(again.filter((r) => r.route === 'GET /repos/{owner}/{repo}/deployments')).toHaveLength(1);
    const page1 = new Set(prod.slice(0, 99).map((d) => String(d.id)).concat(String(pending.id)));
    expect(again.filter((r) => r.route.endsWith('/statuses') && page1.has(r.path.split('/')[5]!))).toEqual([]);
    // The pending one finishes: page 1 changes, and only it is read again.
    applyNewStatus(ds, 'acme/payments', pending.id, { state: 'success', created_at: TO - 10_000 });
    const mark2 = own.requests.length;
    await ownConnector(store).sync(stream);
    expect(charged(mark2).map((r) => r.route)).toEqual(['GET /repos/{owner}/{repo}/deployments', 'POST /graphql']);
    expect((await store.getEvents('deployment', 'acme/payments@production')).find((e) => e.id === pending.id)?.state).toBe('success');
  });

  it('a spent GraphQL bucket is a RateLimitError with its reset time, and nothing of the page is lost', async () => {
    own.setGraphqlRateLimit(5000, 0);
    try {
      const store = freshStore();
      const err = await ownConnector(store).sync(streamOf('acme/payments', 'production')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).resetAt).toBeGreaterThan(Date.now());
      expect((err as RateLimitError).message).toMatch(/GraphQL rate limit exceeded until/);
      expect(own.requests.at(-1)).toMatchObject({ route: 'POST /graphql', status: 200, points: 0 });
      expect(await store.getCursor<DeploymentsCursor>(streamOf('acme/payments', 'production'))).toBeNull();
      own.setGraphqlRateLimit(5000);
      await ownConnector(store).sync(streamOf('acme/payments', 'production'));
      const want = ds.repos.find((r) => r.fullName === 'acme/payments')!.deployments.filter((d) => d.environment === 'production');
      expect((await store.getEvents('deployment', 'acme/payments@production')).sort(byId)).toEqual(want.map((d) => expectedEvent('acme/payments', d)).sort(byId));
    } finally {
      own.setGraphqlRateLimit(5000);
    }
  });

  it('a 429 from /graphql is a RateLimitError', async () => {
    const client = createGithubClient({ baseUrl: own.url, token: 'good-token', logger, retryBaseMs: 1, maxRateLimitWaitMs: 0 });
    own.failNext(10, 429);
    try {
      const err = await graphqlQuery(client, { requests: 0, points: 0, remaining: null }, '{ rateLimit { cost remaining resetAt } }', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
    } finally {
      own.failNext(0);
    }
  });

  it('pages on the statuses of a deployment that has more than the batch asks for', async () => {
    const at = TO - 10 * DAY;
    const states = ['queued', 'in_progress', 'error', 'queued', 'in_progress', 'error', 'queued', 'in_progress', 'error', 'queued', 'in_progress', 'error', 'in_progress'] as const;
    const d = applyNewDeployment(ds, 'acme/payments', {
      created_at: at,
      // The last two share their created_at: the higher id (failure) is the latest.
      statuses: [...states.map((state, i) => ({ state, created_at: at + (i + 1) * 60_000 })), { state: 'error', created_at: at + 20 * 60_000 }, { state: 'failure', created_at: at + 20 * 60_000 }],
    });
    const store = freshStore();
    const want = ds.repos.find((r) => r.fullName === 'acme/payments')!.deployments.filter((x) => x.environment === 'production');
    const before = own.requests.length;
    await ownConnector(store).sync(streamOf('acme/payments', 'production'));
    const made = own.requests.slice(before);
    expect(made.filter((r) => r.route === 'POST /graphql').length).toBe(Math.ceil(want.length / 100) + 1);
    expect(made.some((r) => r.path.includes(`/deployments/${d.id}/statuses`))).toBe(false);
    const got = (await store.getEvents('deployment', 'acme/payments@production')).find((e) => e.id === d.id);
    expect(got).toEqual(expectedEvent('acme/payments', d));
    expect(got).toMatchObject({ state: 'failure', statusId: d.statuses.at(-1)!.id });
  });

  it('reads database ids from node ids of both formats, and refuses what it cannot read', () => {
    expect(databaseIdFromNodeId(Buffer.from('016:DeploymentStatus5100000123').toString('base64'), 'DeploymentStatus')).toBe(5_100_000_123);
    // New format: prefix, base64url(MessagePack [0, 541842]) (a user id GitHub shows in its docs' examples).
    expect(databaseIdFromNodeId('U_kgDOAAhEkg', 'User')).toBe(541_842);
    // [0, repository id, status id] with a uint64 status id.
    const packed = Buffer.concat([Buffer.from([0x93, 0x00, 0xce]), Buffer.from([0, 0x10, 0, 0]), Buffer.from([0xcf]), Buffer.from('000000013000abcd', 'hex')]);
    expect(databaseIdFromNodeId(`DES_${packed.toString('base64url')}`, 'DeploymentStatus')).toBe(0x13000abcd);
    expect(databaseIdFromNodeId(Buffer.from('010:Deployment123').toString('base64'), 'DeploymentStatus')).toBeNull();
    expect(databaseIdFromNodeId('DES_', 'DeploymentStatus')).toBeNull();
    expect(databaseIdFromNodeId('DES_kgDOAAhE', 'DeploymentStatus')).toBeNull(); // truncated
  });
});

describe('malformed deployments and statuses', () => {
  it('are reported with their id and skipped; the rest of the page is stored', async () => {
    const ds = generateGithubDataset({ seed: 5, repos: ['acme/payments'], from: new Date(TO - 90 * DAY), to: new Date(TO) });
    const bad = await startGithubSimulator({ dataset: ds, token: 'good-token' });
    try {
      const all = ds.repos[0]!.deployments.filter((d) => d.environment === 'production').sort((a, b) => b.id - a.id);
      const [garbage, noSha, wrongId] = [all[10]!, all[20]!, all.at(-3)!];
      bad.corrupt('deployment', garbage.id, { created_at: 'garbage' });
      bad.corrupt('deployment', noSha.id, { sha: null });
      bad.corrupt('deployment', wrongId.id, { id: String(wrongId.id) });
      // A status of the newest deployment (read over REST): skipped, the others decide.
      const newest = all[0]!;
      const sorted = [...newest.statuses].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
      const badStatus = sorted.find((s) => s.state !== 'inactive')!;
      bad.corrupt('status', badStatus.id, { created_at: 'garbage' });

      const store = freshStore();
      const warnings: string[] = [];
      const client = createGithubClient({ baseUrl: bad.url, token: 'good-token', logger, retryBaseMs: 5 });
      const report = await syncDeployments({ client, store, now: () => TO, logger: { warn: (_o: unknown, m: string) => void warnings.push(m) } as never }, 'acme/payments', 'production');

      expect(report.skipped).toHaveLength(4);
      expect(report.skipped[0]).toMatch(new RegExp(`deployments\\?.*: deployment ${garbage.id} skipped: created_at is not an ISO 8601 timestamp \\("garbage"\\)`));
      expect(report.skipped).toContainEqual(expect.stringMatching(new RegExp(`deployment ${noSha.id} skipped: sha .*\\(null\\)`)));
      expect(report.skipped).toContainEqual(expect.stringMatching(new RegExp(`deployment "${wrongId.id}" skipped: id .*number`)));
      expect(report.skipped).toContainEqual(expect.stringMatching(new RegExp(`/deployments/${newest.id}/statuses.*: deployment status ${badStatus.id} skipped: created_at`)));
      expect(warnings).toEqual(report.skipped);

      const got = (await store.getEvents('deployment', 'acme/payments@production')).sort(byId);
      const skippedIds = new Set([garbage.id, noSha.id, wrongId.id]);
      const expected = all.filter((d) => !skippedIds.has(d.id)).map((d) => (d === newest ? expectedEvent('acme/payments', { ...d, statuses: d.statuses.filter((s) => s !== badStatus) }) : expectedEvent('acme/payments', d)));
      expect(got).toEqual(expected.sort(byId));
    } finally {
      await bad.close();
    }
  });
});

describe('deployments streams syncing together pool their statuses reads (one nodes(ids:) query per 100 ids of any repository)', () => {
  const POOL = ['acme/a', 'acme/b', 'acme/c', 'acme/d', 'acme/e', 'acme/f'];
  const ENVS = ['production', 'staging'];
  let own: GithubSimulator;
  let ds: GithubDataset;
  beforeAll(async () => {
    ds = generateGithubDataset({ seed: 23, repos: POOL, from: new Date(TO - 20 * DAY), to: new Date(TO) });
    own = await startGithubSimulator({ dataset: ds, token: 'good-token' });
  });
  afterAll(async () => {
    await own.close();
  });
  const want = (repo: string, env: string) => ds.repos.find((r) => r.fullName === repo)!.deployments.filter((d) => d.environment === env);
  const streamsOf = () => POOL.flatMap((repo) => ENVS.map((env) => ({ repo, env })));
  /** Syncs every stream at once through one client and one batcher (as a sync round does); the requests it made. */
  const syncAll = async (store: Store) => {
    const client = createGithubClient({ baseUrl: own.url, token: 'good-token', logger, retryBaseMs: 5 });
    // Waits for every stream (no timer): the count of queries does not depend on the machine's load.
    const batcher = deploymentNodesBatcher(client, 60_000);
    const before = own.requests.length;
    const reports = await Promise.allSettled(streamsOf().map(({ repo, env }) => syncDeployments({ client, store, now: () => TO, batcher }, repo, env)));
    return { reports, made: own.requests.slice(before) };
  };

  it(`${POOL.length * ENVS.length} streams synced together send ceil(deployments / 100) GraphQL queries, and each stream stores exactly its own deployments`, async () => {
    const total = streamsOf().reduce((n, { repo, env }) => n + want(repo, env).length, 0);
    // Each stream fits on one list page, and together they need several queries.
    for (const { repo, env } of streamsOf()) expect(want(repo, env).length).toBeLessThanOrEqual(100);
    expect(total).toBeGreaterThan(200);
    const store = freshStore();
    const { reports, made } = await syncAll(store);
    const graphql = made.filter((r) => r.route === 'POST /graphql');
    expect(graphql).toHaveLength(Math.ceil(total / 100));
    expect(graphql.every((r) => r.status === 200)).toBe(true);
    expect(made.filter((r) => r.route.endsWith('/statuses'))).toEqual([]);
    expect(reports.every((r) => r.status === 'fulfilled')).toBe(true);
    const ok = reports.map((r) => (r as PromiseFulfilledResult<DeploymentsSyncReport>).value);
    // Requests and points are reported once in all (each query's to one of its streams).
    expect(ok.reduce((n, r) => n + r.graphqlPoints, 0)).toBe(graphql.reduce((n, r) => n + (r.points ?? 0), 0));
    expect(ok.reduce((n, r) => n + r.requests, 0)).toBe(made.length);
    for (const { repo, env } of streamsOf()) {
      const got = await store.getEvents('deployment', `${repo}@${env}`);
      expect(got.sort(byId)).toEqual(want(repo, env).map((d) => expectedEvent(repo, d)).sort(byId));
    }
  });

  it('a node that fails affects only its stream: an unresolvable node id goes to REST, a FORBIDDEN node fails its stream alone', async () => {
    // acme/b@production: one deployment's node id does not resolve (NOT_FOUND in the pooled query).
    const broken = want('acme/b', 'production')[0]!;
    own.corrupt('deployment', broken.id, { node_id: 'D_garbage' });
    // acme/d's nodes are behind SAML enforcement: FORBIDDEN on each of them, in queries shared with other repositories.
    own.samlProtect('acme/d');
    const total = streamsOf().reduce((n, { repo, env }) => n + want(repo, env).length, 0);
    const store = freshStore();
    const { reports, made } = await syncAll(store);
    expect(made.filter((r) => r.route === 'POST /graphql')).toHaveLength(Math.ceil(total / 100));
    // The unresolvable one alone is read over REST, by its own stream.
    expect(made.filter((r) => r.route.endsWith('/statuses')).map((r) => r.path.split('/')[5])).toEqual([String(broken.id)]);
    streamsOf().forEach(({ repo }, i) => {
      const r = reports[i]!;
      if (repo === 'acme/d') {
        expect(r.status).toBe('rejected');
        const err = (r as PromiseRejectedResult).reason as SourceError;
        expect(err).toBeInstanceOf(SourceError);
        expect(err.message).toMatch(/^GitHub POST \/graphql answered errors on deployment \d+ of acme\/d: FORBIDDEN: Resource protected by organization SAML enforcement/);
      } else {
        expect(r.status).toBe('fulfilled');
      }
    });
    for (const { repo, env } of streamsOf()) {
      if (repo === 'acme/d') continue;
      const got = await store.getEvents('deployment', `${repo}@${env}`);
      expect(got.sort(byId)).toEqual(want(repo, env).map((d) => expectedEvent(repo, d)).sort(byId));
    }
  });
});
