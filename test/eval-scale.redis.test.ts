import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateKeyResult, planRound } from '../src/engine/evaluate.js';
import { RoundReader } from '../src/engine/round.js';
import { ciSuccessRate } from '../src/metrics/ci-success-rate.js';
import type { WorkflowRunEvent } from '../src/core/events.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore, slotTag } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { streamsOf } from '../src/sync/plan.js';
import { keyResult, objective } from './helpers/config.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const REPO = 'acme/payments';
const PARTITION = `${REPO}/ci.yml@main`;
const redis = new Redis(REDIS_URL);
const prefixes: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of prefixes) await c();
  redis.disconnect();
});

function redisStore(): { store: RedisStore; prefix: string } {
  const { prefix, cleanup } = testPrefix();
  prefixes.push(cleanup);
  return { store: new RedisStore({ redis, prefix }), prefix };
}

/** A year of ci.yml runs on main, one every 2 hours (one in 7 failing), created at odd minutes. */
function yearOfRuns(): WorkflowRunEvent[] {
  const runs: WorkflowRunEvent[] = [];
  for (let i = 0, t = NOW - 365 * DAY; t <= NOW; i++, t += 2 * HOUR + 7 * 60_000) {
    runs.push({
      repo: REPO,
      id: 9_000_000 + i,
      workflow: 'ci.yml',
      branch: 'main',
      event: 'push',
      status: 'completed',
      conclusion: i % 7 === 0 ? 'failure' : 'success',
      headSha: `sha${i}`,
      createdAt: t,
      updatedAt: t + 300_000,
      runStartedAt: t + 5_000,
      runAttempt: 1,
    });
  }
  return runs;
}

const ciKr = (id: string, windowDays: number) =>
  keyResult({ id, metric: 'ci_success_rate', unit: 'ratio', repos: [REPO], workflow: 'ci.yml', branch: 'main', windowMs: windowDays * DAY, baseline: 0.5, target: { type: 'absolute', value: 0.95 } });

async function synced(store: Store, krs: ReturnType<typeof ciKr>[]): Promise<void> {
  for (const kr of krs) {
    for (const stream of streamsOf(kr)) {
      await store.putSourceHealth({ stream, lastAttemptAt: NOW, lastSuccessAt: NOW, lastError: null, lastDurationMs: 1, requests: 1, notModified: 0, failures: 0, eventsStored: 1, rateLimitRemaining: null });
    }
  }
}

const inRange = (runs: WorkflowRunEvent[], from: number, to: number) => runs.filter((r) => r.createdAt >= from && r.createdAt <= to);

describe('evaluation at scale', () => {
  const runs = yearOfRuns();

  it.each([
    ['memory', () => ({ store: new MemoryStore(), read: (s: Store) => (s as MemoryStore).eventsRead })],
    ['redis', () => ({ store: redisStore().store, read: (s: Store) => (s as RedisStore).reads.events })],
  ] as const)('a 7-day key result reads its window of a year of runs, not the year (%s store)', async (_, make) => {
    const { store, read } = make();
    await store.putEvents(null, 'workflow_run', PARTITION, runs);
    const kr = ciKr('ci-7d', 7);
    await synced(store, [kr]);
    const before = read(store);
    const r = await evaluateKeyResult(objective({ keyResults: [kr] }), kr, { store, at: NOW, now: () => NOW });
    const window = inRange(runs, NOW - 7 * DAY, NOW);
    expect(read(store) - before).toBe(window.length);
    expect(window.length).toBeLessThan(runs.length / 40);
    // The value is the one the whole history gives.
    expect(r.value).toBe(ciSuccessRate(runs, { at: NOW, windowMs: 7 * DAY }));
    expect(r.value).not.toBeNull();
  });

  it('one round reads each partition once: the union of the windows, each event once', async () => {
    const { store } = redisStore();
    await store.putEvents(null, 'workflow_run', PARTITION, runs);
    const krs = [ciKr('ci-7d', 7), ciKr('ci-28d', 28), ciKr('ci-28d-again', 28)];
    await synced(store, krs);
    const o = objective({ keyResults: krs });
    const round = new RoundReader(store);
    const before = store.reads.events;
    await planRound(round, krs.map((kr) => ({ objective: o, kr })), NOW);
    const values = [];
    for (const kr of krs) values.push((await evaluateKeyResult(o, kr, { store, at: NOW, now: () => NOW, round })).value);
    expect(store.reads.events - before).toBe(inRange(runs, NOW - 28 * DAY, NOW).length);
    expect(values).toEqual([7, 28, 28].map((d) => ciSuccessRate(runs, { at: NOW, windowMs: d * DAY })));
  });

  it('a reader asks the store only for what the round has not read yet', async () => {
    const store = new MemoryStore();
    await store.putEvents(null, 'workflow_run', PARTITION, runs);
    const round = new RoundReader(store);
    const count = (from: number, to: number) => inRange(runs, from, to).length;
    const t = (d: number) => NOW - d * DAY;
    let before = store.eventsRead;
    expect(await round.read('workflow_run', PARTITION, t(100), t(90))).toHaveLength(count(t(100), t(90)));
    expect(await round.read('workflow_run', PARTITION, t(50), t(40))).toHaveLength(count(t(50), t(40)));
    expect(store.eventsRead - before).toBe(count(t(100), t(90)) + count(t(50), t(40)));
    // Across both and beyond: only the gaps (their boundaries may be read again; no run lies on one).
    before = store.eventsRead;
    const all = await round.read('workflow_run', PARTITION, t(120), t(30));
    expect(all.map((r) => r.id).sort()).toEqual(inRange(runs, t(120), t(30)).map((r) => r.id).sort());
    expect(store.eventsRead - before).toBe(count(t(120), t(100)) + count(t(90), t(50)) + count(t(40), t(30)));
    before = store.eventsRead;
    expect(await round.read('workflow_run', PARTITION, t(110), t(35))).toHaveLength(count(t(110), t(35)));
    expect(store.eventsRead - before).toBe(0);
  });

  it('a partition stored before the time index existed is read whole once, indexed, then by range', async () => {
    const { store, prefix } = redisStore();
    // As an older kr-tracker wrote it: the hash alone.
    const old = runs.slice(0, 500);
    await redis.hset(`${prefix}:{${slotTag(PARTITION)}}:events:workflow_run:${PARTITION}`, ...old.flatMap((r) => [String(r.id), JSON.stringify(r)]));
    const from = old[100]!.createdAt;
    const to = old[199]!.createdAt;
    const first = await store.getEventsInRange('workflow_run', PARTITION, from, to);
    expect(first.map((r) => r.id).sort()).toEqual(old.slice(100, 200).map((r) => r.id));
    expect(await redis.zcard(`${prefix}:{${slotTag(PARTITION)}}:events-at:workflow_run:${PARTITION}`)).toBe(500);
    const before = store.reads.events;
    const again = await store.getEventsInRange('workflow_run', PARTITION, from, to);
    const byId = (a: WorkflowRunEvent, b: WorkflowRunEvent) => a.id - b.id;
    expect([...again].sort(byId)).toEqual([...first].sort(byId));
    expect(store.reads.events - before).toBe(100);
    // New pages go on writing the index with the hash.
    await store.putEvents(null, 'workflow_run', PARTITION, runs.slice(500, 510));
    expect((await store.getEventsInRange('workflow_run', PARTITION, runs[500]!.createdAt, runs[509]!.createdAt)).length).toBe(10);
  });

  it('a deployment re-stored with its success status moves to its deployed_at in the index', async () => {
    const { store } = redisStore();
    const d = { repo: REPO, id: 1, sha: 'a', environment: 'production', createdAt: NOW - 10 * DAY, state: 'in_progress', statusAt: NOW - 10 * DAY + 1000, statusId: 1 };
    await store.putEvents(null, 'deployment', `${REPO}@production`, [d]);
    await store.putEvents(null, 'deployment', `${REPO}@production`, [{ ...d, state: 'success', statusAt: NOW - DAY, statusId: 2 }]);
    expect(await store.getEventsInRange('deployment', `${REPO}@production`, NOW - 2 * DAY, NOW)).toHaveLength(1);
    expect(await store.getEventsInRange('deployment', `${REPO}@production`, -Infinity, NOW - 2 * DAY)).toHaveLength(0);
  });
});
