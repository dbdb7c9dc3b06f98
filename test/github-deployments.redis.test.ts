import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubConnector } from '../connectors/github/index.js';
import { streamOf, type DeploymentsCursor } from '../connectors/github/deployments.js';
import { applyNewDeployment, generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { Secret } from '../src/config/secret.js';
import { RateLimitError, SourceError } from '../src/lib/errors.js';
import { deploymentFrequency } from '../src/metrics/deployment-frequency.js';
import { successfulDeployments } from '../src/metrics/successful-deployments.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/store/store.js';
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
    // page 1 of the list, the new deployment's statuses, and re-reads of recently changed ones
    expect(made.some((r) => r.path.includes(`/deployments/${d.id}/statuses`))).toBe(true);
    expect(made.filter((r) => r.route.includes('deployments') && !r.path.includes('statuses')).length).toBe(1);
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
