// Issue 13, monorepos, as the service stores them: a pattern's deployments and a path's commits
// synced into Redis, measured through the engine (the pattern resolved from the stream's cursor in
// Redis), equal the independent computation; a second engine round reads the same.
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubConnector } from '../connectors/github/index.js';
import { generateGithubDataset, type GithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { formatProblem, parseConfig } from '../src/config/load.js';
import { measurer } from '../src/engine/measure.js';
import { RoundReader } from '../src/engine/round.js';
import { RedisStore } from '../src/store/redis-store.js';
import { streamsOf } from '../src/sync/plan.js';
import { expectedStatistic } from './helpers/expected.js';
import { expectedMonorepoFrequency, expectedMonorepoLeadTimes } from './helpers/expected-monorepo.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const TO = Date.parse('2026-11-20T00:00:00Z');
const AT = TO - DAY;
const REPO = 'acme/monorepo';
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
const store = new RedisStore({ redis, prefix });
let sim: GithubSimulator;
let dataset: GithubDataset;

beforeAll(async () => {
  dataset = generateGithubDataset({ seed: 31, repos: [REPO], from: new Date(TO - 60 * DAY), to: new Date(TO), environments: ['production-payments', 'production-search'], paths: ['services/payments/', 'services/search/'] });
  sim = await startGithubSimulator({ dataset, token: 'good-token' });
});
afterAll(async () => {
  await (sim as GithubSimulator | undefined)?.close();
  await cleanup();
  redis.disconnect();
});

describe('a monorepo in Redis', () => {
  it('measures a pattern\'s deployments and a path\'s lead time from what the service stored', async () => {
    const { config, problems } = parseConfig(
      `version: 1
sources:
  github: { token: x }
objectives:
  - id: o
    title: Ship
    owner: me
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: freq, title: Deploy three times a day, metric: deployment_frequency, repos: [${REPO}], environment: "production-*", window: 14d, target: 3 }
      - { id: lead, title: Cut the median payments lead time to a day, metric: lead_time_for_changes, repos: [${REPO}], paths: [services/payments/], environment: "production-*", window: 14d, target: 86400 }
`,
      'okrs.yaml',
      {},
    );
    expect(problems.map(formatProblem)).toEqual([]);
    const [freq, lead] = config!.objectives[0]!.keyResults;
    const connector = createGithubConnector({ source: { baseUrl: sim.url, token: { reveal: () => 'good-token' } } as never, store, logger: pino({ level: 'silent' }), now: () => TO, retryBaseMs: 5 });
    for (const s of [...streamsOf(freq!), ...streamsOf(lead!)]) await connector.sync(s);

    const envs = ['production-payments', 'production-search'];
    const want = { freq: expectedMonorepoFrequency(dataset, REPO, envs, AT, 14), lead: expectedStatistic(expectedMonorepoLeadTimes(dataset, REPO, envs, ['services/payments/'], AT, 14), 'p50') };
    expect(want.lead).not.toBeNull();
    for (let round = 0; round < 2; round++) {
      const reader = new RoundReader(store);
      expect(await (await measurer(freq!, reader, {}, [AT]))(AT)).toBeCloseTo(want.freq, 12);
      expect(await (await measurer(lead!, reader, {}, [AT]))(AT)).toBeCloseTo(want.lead!, 6);
    }
  }, 60_000);
});
