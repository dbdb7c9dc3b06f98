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
import { evaluationBatches } from '../src/queue/batches.js';
import { createWorkers, type Workers } from '../src/queue/workers.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { config as makeConfig } from './helpers/config.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';
import { until } from './helpers/net.js';

const DAY = 86_400_000;
const REPOS = ['acme/payments', 'acme/checkout'];
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
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

async function harness(baseUrl: string, token = 'worker-token', opts: { hold?: Hold } = {}) {
  const { prefix, cleanup } = testPrefix();
  const connection = redisOptions(REDIS_URL);
  const config = makeConfig({}, baseUrl, token);
  const redisStore = new RedisStore({ redis, prefix });
  const store = opts.hold ? holding(redisStore, opts.hold) : redisStore;
  const queues: Queues = createQueues({ connection, prefix });
  const connectors = createConnectors({ config, store, logger, now: Date.now, retryBaseMs: 1 });
  // Short backoff for the test; production uses JOB_OPTIONS (2 s exponential).
  const workers: Workers = createWorkers({ connection, prefix, queues, store, connectors: () => connectors, config: () => config, logger, now: Date.now, batches: evaluationBatches(redis, prefix, queues, { settleMs: 200 }) });
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

/** Holds the first putResult after `arm()` until `release()`: an evaluation caught between its reads and its write. */
class Hold {
  #armed = false;
  #entered: () => void = () => {};
  readonly entered = new Promise<void>((r) => (this.#entered = r));
  #release: () => void = () => {};
  readonly #released = new Promise<void>((r) => (this.#release = r));
  arm() {
    this.#armed = true;
  }
  release() {
    this.#release();
  }
  async pass(): Promise<void> {
    if (!this.#armed) return;
    this.#armed = false;
    this.#entered();
    await this.#released;
  }
}

function holding(store: RedisStore, hold: Hold): RedisStore {
  const put = store.putResult.bind(store);
  store.putResult = async (r) => {
    await hold.pass();
    return put(r);
  };
  return store;
}

const deployments = (repo: string) => ({ stream: { source: 'github', stream: 'deployments', key: `${repo}@production` } });

/** Key results evaluated by the batch jobs that completed so far. */
function countEvaluations(events: QueueEvents): { evaluated: number } {
  const count = { evaluated: 0 };
  events.on('completed', ({ returnvalue }) => {
    const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { evaluated?: number } | null;
    count.evaluated += r?.evaluated ?? 0;
  });
  return count;
}

describe('workers', () => {
  it('a completed sync triggers the evaluation of the key results that read it', async () => {
    const h = await harness(sim.url);
    // One sync after the other, each followed by the evaluation it triggers.
    for (const repo of REPOS) {
      const evaluated = new Promise<void>((resolve) => h.evalEvents.once('completed', () => resolve()));
      await h.queues.sync.add('sync', deployments(repo));
      await evaluated;
    }
    const [result] = await h.store.getResults();
    expect(result?.keyResultId).toBe('deploy-frequency');
    expect(result?.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', result!.at, 28), 12);
  });

  it('a sync finishing while the evaluation of its key result runs is evaluated again at once, not at the next tick', async () => {
    const hold = new Hold();
    const h = await harness(sim.url, 'worker-token', { hold });
    const counted = countEvaluations(h.evalEvents);
    // The evaluation after the first sync is caught between its reads and its write...
    hold.arm();
    await h.queues.sync.add('sync', deployments(REPOS[0]!));
    await hold.entered;
    // ...while the second stream of the key result syncs and finishes.
    const second = await h.queues.sync.add('sync', deployments(REPOS[1]!));
    await second.waitUntilFinished(h.syncEvents, 30_000);
    hold.release();
    // No scheduler runs in this test: only the batch armed by the second sync can evaluate again.
    const deadline = Date.now() + 15_000;
    let result = null;
    while (Date.now() < deadline) {
      result = (await h.store.getResults())[0] ?? null;
      if (result?.value !== null && result?.value !== undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(result?.error ?? null).toBeNull();
    expect(result?.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', result!.at, 28), 12);
    expect(counted.evaluated).toBe(2);
  });

  it('syncs of every stream a key result reads, queued together, give one evaluation of it', async () => {
    const h = await harness(sim.url);
    const counted = countEvaluations(h.evalEvents);
    const jobs = await Promise.all(REPOS.map((repo) => h.queues.sync.add('sync', deployments(repo))));
    for (const j of jobs) await j.waitUntilFinished(h.syncEvents, 30_000);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await h.store.getResults()).length === 0) await new Promise((r) => setTimeout(r, 100));
    // Let any further batch (there should be none with work) run before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const [result] = await h.store.getResults();
    expect(result?.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', result!.at, 28), 12);
    expect(counted.evaluated).toBe(1);
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

  it('close() lets the job in flight finish before it returns', { timeout: 60_000 }, async () => {
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
    // Polled rather than heard: a QueueEvents 'active' sent before its stream reader is ready is missed.
    // Every answer takes 100 ms and the sync makes several requests, so 'active' lasts long enough to see.
    await until('the sync job in flight', async () => ((await job.getState()) === 'active' ? true : undefined), 20_000, 10);
    await h.workers.close();
    const j = await h.queues.sync.getJob(job.id!);
    expect(await j?.getState()).toBe('completed');
    expect((await h.store.getSourceHealth())[0]?.lastSuccessAt).not.toBeNull();
  });
});
