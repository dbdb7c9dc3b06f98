import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../src/core/result.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import type { DeploymentEvent } from '../src/core/events.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const stream = { source: 'github', stream: 'deployments', key: 'acme/a@production' };
const ev = (id: number, state = 'success'): DeploymentEvent => ({
  repo: 'acme/a',
  id,
  sha: `sha${id}`,
  environment: 'production',
  createdAt: id * 1000,
  state,
  statusAt: id * 1000 + 10,
  statusId: id,
});
const result = (at: number, value: number | null): EvaluationResult => ({
  objectiveId: 'o',
  keyResultId: 'k',
  metric: 'deployment_frequency',
  unit: 'per_day',
  at,
  evaluatedAt: at,
  value,
  baseline: 0.2,
  target: 1,
  kind: 'increase',
  progress: 0.5,
  expected: 0.5,
  status: 'on_track',
  forecast: null,
  score: null,
  error: null,
});

const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
afterAll(async () => {
  await cleanup();
  redis.disconnect();
});

// The same contract for both stores: the memory store stands in for Redis in `run --once`.
describe.each([
  ['redis', () => new RedisStore({ redis, prefix: `${prefix}-${Math.random()}`, historyMaxPoints: 3 })],
  ['memory', () => new MemoryStore()],
] as const)('%s store', (_name, make) => {
  let store: Store;
  beforeAll(() => {
    store = make();
  });

  it('stores a page of events with its cursor, idempotently by id', async () => {
    await store.putEvents(stream, 'deployment', 'acme/a@production', [ev(1), ev(2)], { newestId: 2 });
    await store.putEvents(stream, 'deployment', 'acme/a@production', [ev(2, 'failure'), ev(3)], { newestId: 3 });
    const all = (await store.getEvents('deployment', 'acme/a@production')).sort((a, b) => a.id - b.id);
    expect(all.map((e) => [e.id, e.state])).toEqual([
      [1, 'success'],
      [2, 'failure'],
      [3, 'success'],
    ]);
    expect(await store.getCursor(stream)).toEqual({ newestId: 3 });
    expect(await store.getEvents('deployment', 'acme/a@staging')).toEqual([]);
  });

  it('keeps ETags by URL', async () => {
    expect(await store.getEtag('http://x/a')).toBeNull();
    await store.setEtag('http://x/a', 'W/"1"');
    expect(await store.getEtag('http://x/a')).toBe('W/"1"');
  });

  it('keeps the latest result and a history of values, replacing a re-evaluation of the same instant', async () => {
    await store.putResult(result(1000, 1));
    await store.putResult(result(2000, 2));
    await store.putResult(result(2000, 2.5));
    await store.putResult(result(3000, null));
    expect((await store.getResults()).map((r) => r.at)).toEqual([3000]);
    expect(await store.getHistory('o', 'k', 0, 5000)).toEqual([
      { at: 1000, value: 1 },
      { at: 2000, value: 2.5 },
    ]);
    expect(await store.getHistory('o', 'k', 1500, 5000)).toEqual([{ at: 2000, value: 2.5 }]);
  });

  it('drops results of key results that left the config', async () => {
    await store.retainResults(new Set(['o/other']));
    expect(await store.getResults()).toEqual([]);
    expect(await store.getHistory('o', 'k', 0, 5000)).toEqual([]);
  });

  it('records source health per stream', async () => {
    const h = { stream, lastAttemptAt: 1, lastSuccessAt: 1, lastError: null, lastDurationMs: 5, requests: 3, notModified: 1, failures: 0, eventsStored: 2, rateLimitRemaining: 4999 };
    await store.putSourceHealth(h);
    await store.putSourceHealth({ ...h, requests: 4 });
    expect(await store.getSourceHealth()).toEqual([{ ...h, requests: 4 }]);
  });
});

describe('redis store retention', () => {
  it('keeps at most historyMaxPoints points, dropping the oldest', async () => {
    const store = new RedisStore({ redis, prefix: `${prefix}-ret`, historyMaxPoints: 3 });
    for (let i = 1; i <= 5; i++) await store.putResult(result(i * 1000, i));
    expect((await store.getHistory('o', 'k', 0, 1e9)).map((p) => p.value)).toEqual([3, 4, 5]);
  });
  it('drops points older than historyMaxAgeMs', async () => {
    const store = new RedisStore({ redis, prefix: `${prefix}-age`, historyMaxAgeMs: 1500 });
    for (let i = 1; i <= 4; i++) await store.putResult(result(i * 1000, i));
    expect((await store.getHistory('o', 'k', 0, 1e9)).map((p) => p.value)).toEqual([3, 4]);
  });
});
