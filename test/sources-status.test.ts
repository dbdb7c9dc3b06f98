// Issue "visible progress": each stream's state (syncing with its progress, synced, waiting for the
// rate limit until when, failed with the reason) in its source health, served at /api/v1/sources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { startHttpServer } from '../src/exporters/http.js';
import { sourcesView, type SourceView } from '../src/exporters/sources-view.js';
import { createLogger } from '../src/lib/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { newSourceHealth, type SourceHealth } from '../src/core/store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { planStreams } from '../src/sync/plan.js';
import { runSync } from '../src/sync/run-sync.js';
import { progressFraction, startStreamState } from '../src/sync/stream-state.js';
import { config, keyResult, objective } from './helpers/config.js';

const DAY = 86_400_000;
const NOW = Date.now();
const logger = createLogger('silent');
let gh: GithubSimulator;

beforeAll(async () => {
  gh = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 3, repos: ['acme/payments', 'acme/checkout'], from: new Date(NOW - 40 * DAY), to: new Date(NOW) }),
    token: 'test-token',
  });
});
afterAll(async () => {
  await gh.close();
});

const health = (over: Partial<SourceHealth> = {}): SourceHealth => ({
  ...newSourceHealth({ source: 'github', stream: 'deployments', key: 'acme/payments@production' }, NOW - 5000),
  ...over,
});

describe('the progress hook', () => {
  it('turns pages done of a total into a fraction within 0..1, and says nothing without a total', () => {
    expect(progressFraction({ done: 3, total: 12 })).toBe(0.25);
    expect(progressFraction({ done: 5, total: 0 })).toBeNull();
    expect(progressFraction(1.7)).toBe(1);
    expect(progressFraction(Number.NaN)).toBeNull();
  });

  it('marks the stream syncing, records progress at most once per interval, and never after the sync ended', async () => {
    const store = new MemoryStore();
    let clock = NOW;
    const tracker = await startStreamState(health(), NOW, { store, logger, now: () => clock, minIntervalMs: 1000 });
    expect((await store.getSourceHealth())[0]).toMatchObject({ state: 'syncing', progress: null });
    clock += 1500;
    tracker.hooks.progress?.({ done: 1, total: 4 });
    clock += 100;
    tracker.hooks.progress?.({ done: 2, total: 4 }); // within the interval: not written
    await new Promise((r) => setTimeout(r, 10));
    expect((await store.getSourceHealth())[0]).toMatchObject({ state: 'syncing', progress: 0.25 });
    const settled = await tracker.settle({ error: new Error('boom') });
    clock += 5000;
    tracker.hooks.progress?.({ done: 3, total: 4 });
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toEqual({ state: 'failed', progress: 0.5, waitingUntil: null });
    expect((await store.getSourceHealth())[0]?.progress).toBe(0.25);
  });
});

describe('/api/v1/sources', () => {
  it('lists every stream of the config with its state: synced, waiting for the rate limit until the reset, pending', async () => {
    const cfg = config({
      objectives: [
        objective({ keyResults: [keyResult(), keyResult({ id: 'lead-time', metric: 'lead_time_for_changes', unit: 'seconds' })] }),
      ],
    }, gh.url);
    const store = new MemoryStore();
    const connectors = createConnectors({ config: cfg, store, logger, now: Date.now, retryBaseMs: 10, github: { maxRateLimitWaitMs: 0 } });
    const [payments, checkout] = planStreams(cfg);
    await runSync(payments!, { connectors, store, logger, now: Date.now });
    gh.setRateLimit(5000, 0);
    const reset = Number((await fetch(`${gh.url}/rate_limit`, { headers: { authorization: 'token test-token' } })).headers.get('x-ratelimit-reset')) * 1000;
    await expect(runSync(checkout!, { connectors, store, logger, now: Date.now })).rejects.toThrow(/rate limit/);
    gh.setRateLimit(5000);

    const http = await startHttpServer({
      store,
      config: () => cfg,
      now: Date.now,
      logger,
      ready: async () => true,
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const res = await fetch(`${http.url}/api/v1/sources`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const view = (await res.json()) as SourceView[];
      expect(view.map((s) => `${s.stream} ${s.key} ${s.state}`)).toEqual([
        'deployments acme/payments@production synced',
        'deployments acme/checkout@production waiting',
        'compare acme/payments@production pending',
        'compare acme/checkout@production pending',
      ]);
      const [synced, waiting] = view;
      expect(synced).toMatchObject({ source: 'github', progress: 1, waitingUntil: null, lastError: null, rateLimitRemaining: expect.any(Number) });
      expect(synced!.eventsStored).toBeGreaterThan(0);
      expect(synced!.requests).toBeGreaterThan(0);
      expect(Date.parse(synced!.lastSuccessAt!)).toBeGreaterThanOrEqual(NOW);
      expect(waiting).toMatchObject({ waitingUntil: new Date(reset).toISOString(), lastSuccessAt: null, rateLimitRemaining: null });
      expect(waiting!.lastError).toContain('rate limit exceeded');
    } finally {
      await http.close();
    }
  });

  it('gives health written before streams had states the state it implies', async () => {
    const stream = { source: 'github', stream: 'deployments', key: 'acme/payments@production' };
    const [failed] = sourcesView([stream], [health({ lastError: 'GitHub GET ... answered 404' })]);
    const [synced] = sourcesView([stream], [health({ lastSuccessAt: NOW })]);
    expect(failed).toMatchObject({ state: 'failed', progress: null, lastError: 'GitHub GET ... answered 404' });
    expect(synced).toMatchObject({ state: 'synced', progress: 1 });
  });
});
