// The stream-state fields of source health survive a round trip through both stores.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { SourceHealth, Store } from '../src/core/store.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
afterAll(async () => {
  await cleanup();
  redis.disconnect();
});

const stream = { source: 'github', stream: 'deployments', key: 'acme/payments@prod' };
const base: SourceHealth = { stream, lastAttemptAt: 1, lastSuccessAt: null, lastError: null, lastDurationMs: 5, requests: 3, notModified: 1, failures: 0, eventsStored: 0, rateLimitRemaining: 0 };

describe.each<[string, () => Store]>([
  ['redis', () => new RedisStore({ redis, prefix })],
  ['memory', () => new MemoryStore()],
])('%s store: stream state in source health', (_name, make) => {
  it('keeps state, progress, waitingUntil and note, and replaces them on the next write', async () => {
    const store = make();
    const waiting: SourceHealth = { ...base, state: 'waiting', progress: 0.42, waitingUntil: 1_800_000_000_000, lastError: 'rate limit exceeded' };
    await store.putSourceHealth(waiting);
    expect(await store.getSourceHealth()).toEqual([waiting]);
    const synced: SourceHealth = { ...base, lastSuccessAt: 2, state: 'synced', progress: 1, waitingUntil: null, note: 'no deployments in environment "prod"; this repository has: production, staging' };
    await store.putSourceHealth(synced);
    expect(await store.getSourceHealth()).toEqual([synced]);
  });
});
