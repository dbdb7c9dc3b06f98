import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { backfill, backfillInstants } from '../src/engine/backfill.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { planStreams } from '../src/sync/plan.js';
import { runSync } from '../src/sync/run-sync.js';
import { config as makeConfig } from './helpers/config.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];
const logger = pino({ level: 'silent' });
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;

beforeAll(async () => {
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 21, repos: REPOS, from: new Date(NOW - 150 * DAY), to: new Date(NOW), rateScale: 0.3 }),
    token: 't',
  });
});
afterAll(async () => {
  await sim.close();
  await cleanup();
  redis.disconnect();
});

describe('backfill', () => {
  it('end-of-day instants in the config time zone', () => {
    expect(backfillInstants('2026-10-01', '2026-10-02', 'UTC').map((i) => new Date(i.at).toISOString())).toEqual(['2026-10-02T00:00:00.000Z', '2026-10-03T00:00:00.000Z']);
    expect(new Date(backfillInstants('2026-10-01', '2026-10-01', 'Europe/Berlin')[0]!.at).toISOString()).toBe('2026-10-01T22:00:00.000Z');
  });

  it('records a value per day of the quarter equal to evaluating that day directly, and resumes when interrupted', async () => {
    const config = makeConfig({}, sim.url, 't');
    const store = new RedisStore({ redis, prefix });
    const connectors = createConnectors({ config, store, logger, now: () => NOW });
    for (const s of planStreams(config)) await runSync(s, { connectors, store, logger, now: () => NOW });

    // Interrupted after 10 days ...
    const stop = new Error('interrupted');
    await expect(
      backfill({ config, store, from: '2026-10-01', to: '2026-11-24', now: () => NOW, onProgress: (done) => { if (done === 10) throw stop; } }),
    ).rejects.toBe(stop);
    // ... and run again: it goes on from day 10.
    const seen: number[] = [];
    const report = await backfill({ config, store, from: '2026-10-01', to: '2026-11-24', now: () => NOW, onProgress: (done) => seen.push(done) });
    expect(report.resumedAt).toBe(10);
    expect(seen[0]).toBe(11);
    expect(report.days).toBe(55);

    const history = await store.getHistory('cicd', 'deploy-frequency', 0, NOW);
    expect(history).toHaveLength(55);
    for (const p of history) {
      expect(p.value).toBeCloseTo(expectedDeploymentFrequency(sim.dataset, REPOS, 'production', p.at, 28), 12);
    }
    expect(new Set(history.map((p) => p.value)).size).toBeGreaterThan(5); // a trajectory, not a constant
  });
});
