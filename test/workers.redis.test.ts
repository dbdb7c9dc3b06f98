// BullMQ workers on the real Redis against the simulated GitHub: sync -> evaluation chaining,
// retries with backoff for what can be retried, none for what cannot, and a close that lets the
// job in flight finish.
import { createServer, request, type Server } from 'node:http';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { redisOptions } from '../src/lib/redis.js';
import { createQueues, EVALUATE_QUEUE, SYNC_QUEUE, type Queues } from '../src/queue/queues.js';
import { createWorkers, type Workers } from '../src/queue/workers.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { config as makeConfig } from './helpers/config.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const REPOS = ['acme/payments', 'acme/checkout'];
const logger = pino({ level: 'silent' });
let sim: GithubSimulator;
const redis = new Redis(REDIS_URL);
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 3, repos: REPOS, from: new Date(now - 60 * DAY), to: new Date(now - 60_000) }),
    token: 'worker-token',
  });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sim.close();
  redis.disconnect();
});

async function harness(baseUrl: string, token = 'worker-token') {
  const { prefix, cleanup } = testPrefix();
  const connection = redisOptions(REDIS_URL);
  const config = makeConfig({}, baseUrl, token);
  const store = new RedisStore({ redis, prefix });
  const queues: Queues = createQueues({ connection, prefix });
  const connectors = createConnectors({ config, store, logger, now: Date.now, retryBaseMs: 1 });
  // Short backoff for the test; production uses JOB_OPTIONS (2 s exponential).
  const workers: Workers = createWorkers({ connection, prefix, queues, store, connectors: () => connectors, config: () => config, logger, now: Date.now });
  const syncEvents = new QueueEvents(SYNC_QUEUE, { connection, prefix });
  const evalEvents = new QueueEvents(EVALUATE_QUEUE, { connection, prefix });
  await Promise.all([syncEvents.waitUntilReady(), evalEvents.waitUntilReady()]);
  const close = async () => {
    await workers.close();
    await queues.close();
    await syncEvents.close();
    await evalEvents.close();
    await cleanup();
  };
  cleanups.push(close);
  return { config, store, queues, workers, syncEvents, evalEvents, prefix };
}

describe('workers', () => {
  it('a completed sync triggers the evaluation of the key results that read it', async () => {
    const h = await harness(sim.url);
    // One sync after the other: evaluations triggered while one is still pending or running are
    // deduplicated into it, so two syncs at once may give one evaluation or two.
    for (const repo of REPOS) {
      const evaluated = new Promise<void>((resolve) => h.evalEvents.once('completed', () => resolve()));
      await h.queues.sync.add('sync', { stream: { source: 'github', stream: 'deployments', key: `${repo}@production` } });
      await evaluated;
    }
    const [result] = await h.store.getResults();
    expect(result?.keyResultId).toBe('deploy-frequency');
    expect(result?.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', result!.at, 28), 12);
  });

  it('does not retry an error that cannot be fixed by retrying (bad token)', async () => {
    const h = await harness(sim.url, 'wrong-token');
    const job = await h.queues.sync.add('sync', { stream: { source: 'github', stream: 'deployments', key: 'acme/payments@production' } }, { attempts: 5, backoff: { type: 'exponential', delay: 10 } });
    const failed = await new Promise<string>((resolve) => h.syncEvents.on('failed', ({ jobId, failedReason }) => jobId === job.id && resolve(failedReason)));
    expect(failed).toMatch(/401/);
    const j = await h.queues.sync.getJob(job.id!);
    expect(j?.attemptsMade).toBe(1);
    const health = await h.store.getSourceHealth();
    expect(health[0]?.lastError).toMatch(/401/);
    expect(health[0]?.lastSuccessAt).toBeNull();
  });

  it('retries a source that is down with exponential backoff until it answers', async () => {
    const h = await harness(sim.url);
    // Each attempt makes 20 requests (the client tries 5 times, the stream is run 4 times); 30
    // failures outlast the first attempt.
    sim.failNext(30, 503);
    const job = await h.queues.sync.add('sync', { stream: { source: 'github', stream: 'deployments', key: 'acme/checkout@production' } }, { attempts: 5, backoff: { type: 'exponential', delay: 50 } });
    await job.waitUntilFinished(h.syncEvents, 30_000);
    const j = await h.queues.sync.getJob(job.id!);
    expect(j?.attemptsMade).toBeGreaterThan(1);
    expect((await h.store.getEvents('deployment', 'acme/checkout@production')).length).toBeGreaterThan(0);
  });

  it('close() lets the job in flight finish before it returns', async () => {
    // A proxy that holds every answer of the simulator for 100 ms: the sync is surely in flight.
    const slow: Server = createServer((req, res) => {
      setTimeout(() => {
        const up = request(sim.url + req.url, { method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        req.pipe(up);
      }, 100);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => slow.close(() => r())));
    const h = await harness(`http://127.0.0.1:${(slow.address() as { port: number }).port}`);
    const job = await h.queues.sync.add('sync', { stream: { source: 'github', stream: 'deployments', key: 'acme/checkout@production' } });
    await new Promise<void>((resolve) => h.syncEvents.on('active', ({ jobId }) => jobId === job.id && resolve()));
    await h.workers.close();
    const j = await h.queues.sync.getJob(job.id!);
    expect(await j?.getState()).toBe('completed');
    expect((await h.store.getSourceHealth())[0]?.lastSuccessAt).not.toBeNull();
  });
});
