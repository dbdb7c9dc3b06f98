// The store and the sync gate under concurrency and lost keys, on the shared test Redis.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSyncGate, SYNC_SKIPPED } from '../src/queue/queues.js';
import { RedisStore } from '../src/store/redis-store.js';
import { streamId, type StreamKey } from '../src/core/stream.js';
import { type SourceHealth } from '../src/core/store.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const { prefix, cleanup } = testPrefix();
const clients = Array.from({ length: 3 }, () => new Redis(REDIS_URL));
afterAll(async () => {
  await cleanup();
  for (const c of clients) c.disconnect();
});
const stream: StreamKey = { source: 'github', stream: 'deployments', key: 'acme/payments@production' };

describe('source health counters', () => {
  it('lose no update when many writers read, add and write at once (three connections, as three processes)', async () => {
    const stores = clients.map((redis) => new RedisStore({ redis, prefix: `${prefix}-health` }));
    const first: SourceHealth = { stream, lastAttemptAt: 0, lastSuccessAt: null, lastError: null, lastDurationMs: 0, requests: 0, notModified: 0, failures: 0, eventsStored: 0, rateLimitRemaining: null };
    await stores[0]!.putSourceHealth(first);
    // 300 read-modify-writes, 100 per store, all in flight together: each adds 3 requests.
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const store = stores[i % 3]!;
        const base = (await store.getSourceHealth()).find((h) => streamId(h.stream) === streamId(stream))!;
        await store.recordSourceHealth({ ...base, lastAttemptAt: i }, { requests: 3, failures: 1 });
      }),
    );
    const [h] = await stores[1]!.getSourceHealth();
    expect(h!.requests).toBe(900);
    expect(h!.failures).toBe(300);
  });
});

describe('a cursor never claims events the store no longer holds', () => {
  it('drops the cursor and the ETags when the events hash is gone, and warns', async () => {
    const warnings: unknown[] = [];
    const store = new RedisStore({ redis: clients[0]!, prefix: `${prefix}-cursor`, logger: { warn: (...a: unknown[]) => void warnings.push(a) } as never });
    await store.putEvents(stream, 'deployment', 'acme/payments@production', [{ repo: 'acme/payments', id: 1, sha: 'a', environment: 'production', createdAt: 1, state: 'success', statusAt: 2, statusId: 3 }], { newestId: 1 });
    await store.setEtag('https://api.github.com/repos/acme/payments/deployments', 'W/"1"');
    expect(await store.getCursor(stream)).toEqual({ newestId: 1 });
    await clients[1]!.del(`${prefix}-cursor:{acme/payments}:events:deployment:acme/payments@production`);
    expect(await store.getCursor(stream)).toBeNull();
    expect(await store.getEtag('https://api.github.com/repos/acme/payments/deployments')).toBeNull();
    expect(JSON.stringify(warnings)).toContain('dropped the cursor and the ETags');
    // A cursor with its events intact is trusted.
    await store.putEvents(stream, 'deployment', 'acme/payments@production', [{ repo: 'acme/payments', id: 2, sha: 'b', environment: 'production', createdAt: 1, state: 'success', statusAt: 2, statusId: 4 }], { newestId: 2 });
    expect(await store.getCursor(stream)).toEqual({ newestId: 2 });
  });
});

describe('the sync gate', () => {
  it('runs one sync of a stream at a time across connections, and folds jobs that a later sync covered', async () => {
    const gates = clients.map((c) => createSyncGate(c, `${prefix}-gate`, { pollMs: 20 }));
    let running = 0;
    let most = 0;
    let runs = 0;
    const sync = async () => {
      running++;
      most = Math.max(most, running);
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      running--;
      return 'synced';
    };
    const due = Date.now();
    // Six jobs due at the same instant from three processes: one sync covers them all.
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => gates[i % 3]!(stream, due, sync)));
    expect(most).toBe(1);
    expect(runs).toBe(1);
    expect(results.filter((r) => r === SYNC_SKIPPED)).toHaveLength(5);
    // A job due after that sync started runs.
    expect(await gates[0]!(stream, Date.now() + 1, sync)).toBe('synced');
  });

  it('does not fold the retry of a failed sync', async () => {
    const gate = createSyncGate(clients[0]!, `${prefix}-gate-fail`);
    const due = Date.now();
    await expect(gate(stream, due, async () => { throw new Error('source down'); })).rejects.toThrow('source down');
    expect(await gate(stream, due, async () => 'synced')).toBe('synced');
  });
});
