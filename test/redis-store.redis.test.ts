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

describe('redis store key layout', () => {
  it('puts every key of a partition and of its streams in one hash slot, and different owners in different ones', async () => {
    const p = `${prefix}-slots`;
    const store = new RedisStore({ redis, prefix: p });
    const coverage = { source: 'github', stream: 'coverage', key: 'acme/a/ci.yml@release/1#coverage' };
    await store.putEvents(stream, 'deployment', 'acme/a@production', [ev(1)], { newestId: 1 });
    await store.putEvents(coverage, 'coverage', 'acme/a/ci.yml@release/1', [{ repo: 'acme/a', id: 7, workflow: 'ci.yml', branch: 'release/1', runCreatedAt: 5, lineRate: 0.5, format: 'lcov' }], { done: 1 });
    await store.putEvents({ source: 'pagerduty', stream: 'incidents', key: 'PABC' }, 'incident', 'PABC', [{ service: 'PABC', id: 'Q1', createdAt: 1, resolvedAt: 2, acknowledgedAt: null, urgency: 'high', status: 'resolved' }], { syncedTo: 3 });
    const keys = (await redis.keys(`${p}:*`)).filter((k) => k.includes('{'));
    const slot = async (k: string) => Number(await redis.call('CLUSTER', 'KEYSLOT', k).catch(() => null)) || crc16Slot(k);
    const bySlot = new Map<number, string[]>();
    for (const k of keys) {
      const s = await slot(k);
      bySlot.set(s, [...(bySlot.get(s) ?? []), k]);
    }
    // acme/a: its two events hashes, two indexes, the cursors hash, two stream-keys sets; PABC: four keys.
    const groups = [...bySlot.values()].map((g) => g.length).sort();
    expect(groups).toEqual([4, 7]);
    expect(bySlot.size).toBe(2);
  });

  it('moves the keys of the layout before hash tags once, losing no event nor cursor', async () => {
    const p = `${prefix}-migrate`;
    // As the previous version wrote them: untagged names, one cursors hash, stream-keys naming the old hashes.
    const old = `${p}:events:deployment:acme/a@production`;
    await redis.hset(old, '1', JSON.stringify(ev(1)), '2', JSON.stringify(ev(2)));
    await redis.zadd(`${p}:events-at:deployment:acme/a@production`, ev(1).statusAt!, '1', ev(2).statusAt!, '2');
    await redis.hset(`${p}:events:deployment:acme/b@production`, '9', JSON.stringify({ ...ev(9), repo: 'acme/b' })); // stored before the time index
    await redis.hset(`${p}:cursors`, 'github:deployments:acme/a@production', JSON.stringify({ newestId: 2 }), 'pagerduty:incidents:PABC', JSON.stringify({ syncedTo: 5 }));
    await redis.sadd(`${p}:stream-keys:github:deployments:acme/a@production`, old);
    const warnings: unknown[] = [];
    const store = new RedisStore({ redis, prefix: p, logger: { warn: (...a: unknown[]) => void warnings.push(a) } });
    // A page the new version wrote before the move (another process started first) is kept.
    await store.putEvents(null, 'deployment', 'acme/a@production', [ev(3)]);

    expect(await store.migrateLayout()).toEqual({ partitions: 2, events: 3, cursors: 2 });
    expect(JSON.stringify(warnings)).toContain('hash-tagged key layout');
    expect((await store.getEvents('deployment', 'acme/a@production')).map((e) => e.id).sort()).toEqual([1, 2, 3]);
    expect((await store.getEventsInRange('deployment', 'acme/a@production', 1500, 3000)).map((e) => e.id).sort()).toEqual([2]);
    expect((await store.getEventsInRange('deployment', 'acme/b@production', 0, 1e9)).map((e) => e.id)).toEqual([9]);
    // The cursor still vouches for its events (it is not dropped as if they were gone).
    expect(await store.getCursor(stream)).toEqual({ newestId: 2 });
    expect(await store.getCursor({ source: 'pagerduty', stream: 'incidents', key: 'PABC' })).toEqual({ syncedTo: 5 });
    expect(await redis.smembers(`${p}:{acme/a}:stream-keys:github:deployments:acme/a@production`)).toEqual([`${p}:{acme/a}:events:deployment:acme/a@production`]);
    // Nothing left under the old names; a second start moves nothing.
    expect((await redis.keys(`${p}:*`)).filter((k) => !k.includes('{')).sort()).toEqual([`${p}:layout`]);
    expect(await store.migrateLayout()).toEqual({ partitions: 0, events: 0, cursors: 0 });
  });
});

/** Redis Cluster's key slot (CRC16/XMODEM of the hash tag, else the key, mod 16384). */
function crc16Slot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const h = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const b of Buffer.from(h)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
