// The rate-limit budget kept in Redis: atomic reservations across clients, learned from GitHub's
// headers, and a spent budget that moves the sync job to delayed until the reset, which survives a
// worker restart.
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../connectors/github/client.js';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { RedisBudget, tokenBudgetKey } from '../connectors/kit/budget.js';
import { RateLimitError } from '../src/core/errors.js';
import { redisOptions } from '../src/lib/redis.js';
import { createQueues, SYNC_QUEUE } from '../src/queue/queues.js';
import { evaluationBatches } from '../src/queue/batches.js';
import { createWorkers } from '../src/queue/workers.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { config as makeConfig } from './helpers/config.js';
import { until } from './helpers/net.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const TOKEN = 'budget-token';
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
let sim: GithubSimulator;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 5, repos: ['acme/payments'], from: new Date(now - 30 * DAY), to: new Date(now - 60_000) }),
    token: TOKEN,
  });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sim.close();
  redis.disconnect();
});

function budgetPrefix(): string {
  const { prefix, cleanup } = testPrefix();
  cleanups.push(cleanup);
  return prefix;
}

describe('RedisBudget', () => {
  it('reserves atomically: of 40 concurrent reservations against 10 remaining, exactly 10 go ahead', async () => {
    const budget = new RedisBudget(redis, budgetPrefix());
    const resetAt = Date.now() + 60_000;
    await budget.learn('k', 'core', { limit: 5000, remaining: 10, resetAt });
    const others = [new RedisBudget(new Redis(REDIS_URL), (budget as unknown as { prefix: string }).prefix), budget];
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => others[i % 2]!.take('k', 'core', Date.now())));
    expect(answers.filter((a) => a === null)).toHaveLength(10);
    expect(answers.filter((a) => a === resetAt)).toHaveLength(30);
    (others[0] as unknown as { redis: Redis }).redis.disconnect();
    // Buckets are separate: GraphQL is not spent.
    expect(await budget.take('k', 'graphql', Date.now())).toBeNull();
    // A later window replaces the spent one; an older answer does not bring it back.
    await budget.learn('k', 'core', { limit: 5000, remaining: 4999, resetAt: resetAt + 3_600_000 });
    await budget.learn('k', 'core', { limit: 5000, remaining: 3000, resetAt });
    expect(await budget.get('k', 'core')).toEqual({ limit: 5000, remaining: 4999, resetAt: resetAt + 3_600_000 });
    // Within one window the lower count wins (answers arrive out of order).
    await budget.learn('k', 'core', { limit: 5000, remaining: 4990, resetAt: resetAt + 3_600_000 });
    await budget.learn('k', 'core', { limit: 5000, remaining: 4995, resetAt: resetAt + 3_600_000 });
    expect((await budget.get('k', 'core'))?.remaining).toBe(4990);
  });

  it('is learned from the answers of one client and stops another before it spends a request', async () => {
    const prefix = budgetPrefix();
    const a = createGithubClient({ baseUrl: sim.url, token: TOKEN, logger, budget: new RedisBudget(redis, prefix), maxRateLimitWaitMs: 0 });
    const b = createGithubClient({ baseUrl: sim.url, token: TOKEN, logger, budget: new RedisBudget(redis, prefix), maxRateLimitWaitMs: 0 });
    sim.setRateLimit(5000, 3);
    try {
      const res = await a.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
      expect(res.headers['x-ratelimit-remaining']).toBe('2');
      const stored = await new RedisBudget(redis, prefix).get(tokenBudgetKey(TOKEN), 'core');
      expect(stored?.remaining).toBe(2);
      await b.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
      await a.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
      const before = sim.requests.length;
      const err = await b.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as Error).message).toMatch(/shared budget/);
      expect(sim.requests.length).toBe(before); // refused before it reached GitHub
      expect(sim.counts().rateLimited).toBe(0);
    } finally {
      sim.setRateLimit(5000);
    }
  });
  it('a 304 answer costs no budget, as it costs GitHub no rate limit', async () => {
    const prefix = budgetPrefix();
    const budget = new RedisBudget(redis, prefix);
    const client = createGithubClient({ baseUrl: sim.url, token: TOKEN, logger, budget });
    const first = await client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments' });
    const after200 = await budget.get(tokenBudgetKey(TOKEN), 'core');
    expect(after200?.remaining).toBe(Number(first.headers['x-ratelimit-remaining']));
    for (let i = 0; i < 10; i++) {
      const err = await client
        .request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'payments', headers: { 'if-none-match': String(first.headers.etag) } })
        .catch((e: { status?: number }) => e);
      expect((err as { status?: number }).status).toBe(304);
    }
    expect(await budget.get(tokenBudgetKey(TOKEN), 'core')).toEqual(after200);
  });
});

describe('a spent budget in the service', () => {
  it('moves the sync job to delayed until the reset, and the wait survives a worker restart', async () => {
    const { prefix, cleanup } = testPrefix();
    cleanups.push(cleanup);
    const connection = redisOptions(REDIS_URL);
    const config = makeConfig({}, sim.url, TOKEN);
    const store = new RedisStore({ redis, prefix });
    const queues = createQueues({ connection, prefix });
    const events = new QueueEvents(SYNC_QUEUE, { connection, prefix });
    await events.waitUntilReady();
    cleanups.push(async () => {
      await queues.close();
      await events.close();
    });
    const budget = new RedisBudget(redis, prefix);
    const resetAt = Date.now() + 3000;
    await budget.learn(tokenBudgetKey(TOKEN), 'core', { limit: 5000, remaining: 0, resetAt });
    const startWorkers = () => {
      const connectors = createConnectors({ config, store, logger, now: Date.now, retryBaseMs: 1, github: { budget: new RedisBudget(redis, prefix), maxRateLimitWaitMs: 0 } });
      return createWorkers({ connection, prefix, queues, store, connectors: () => connectors, config: () => config, logger, now: Date.now, batches: evaluationBatches(redis, prefix, queues) });
    };

    const before = sim.requests.length;
    let workers = startWorkers();
    const job = await queues.sync.add('sync', { stream: { source: 'github', stream: 'deployments', key: 'acme/payments@production' } }, { attempts: 3 });
    await until('the job to be delayed', async () => ((await job.getState()) === 'delayed' ? true : undefined), 20_000, 50);
    expect(sim.requests.length).toBe(before); // nothing sent while the budget is spent

    // Restart: the delayed job and the budget are in Redis, not in the worker.
    await workers.close();
    expect(await (await queues.sync.getJob(job.id!))!.getState()).toBe('delayed');
    expect((await new RedisBudget(redis, prefix).get(tokenBudgetKey(TOKEN), 'core'))?.remaining).toBe(0);

    const completed = new Promise<void>((resolve) => events.on('completed', ({ jobId }) => jobId === job.id && resolve()));
    workers = startWorkers();
    cleanups.push(() => workers.close());
    await completed;
    const done = await queues.sync.getJob(job.id!);
    expect(done!.processedOn!).toBeGreaterThanOrEqual(resetAt);
    expect(done!.attemptsMade).toBeLessThanOrEqual(1);
    expect(sim.requests.length).toBeGreaterThan(before);
    expect((await store.getEvents('deployment', 'acme/payments@production')).length).toBeGreaterThan(0);
  });
});
