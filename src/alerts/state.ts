// Alert state in Redis, so that a restart neither repeats nor loses an alert.
//
// Keys (under the alerting prefix):
//   {p}:alerts:state          hash    objective/kr -> AlertState JSON (every kind of that KR)
//   {p}:alerts:sent:{job id}  string  set once a message reached a channel (expires after `sentTtlMs`)
import type { RedisClient } from '../lib/redis.js';
import { resultKey } from '../core/result.js';
import type { AlertState } from './types.js';

/** A state as read, with the exact text it was stored as (for compare-and-set). */
export interface Versioned {
  raw: string | null;
  state: AlertState | null;
}

export interface AlertStateStore {
  get(objectiveId: string, keyResultId: string): Promise<Versioned>;
  all(): Promise<AlertState[]>;
  /** Writes `next` only if the stored text is still `expected`; false when another writer came first. */
  compareAndSet(objectiveId: string, keyResultId: string, expected: string | null, next: AlertState): Promise<boolean>;
  delete(objectiveId: string, keyResultId: string): Promise<void>;
  wasSent(jobId: string): Promise<boolean>;
  markSent(jobId: string): Promise<void>;
}

// One round trip that reads and writes a hash field atomically: evaluations of one KR in two
// processes (or an evaluation and the sweep) cannot overwrite each other's state.
const CAS = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

export function createAlertStateStore({ redis, prefix, sentTtlMs = 30 * 86_400_000 }: { redis: RedisClient; prefix: string; sentTtlMs?: number }): AlertStateStore {
  const hash = `${prefix}:alerts:state`;
  const sent = (jobId: string) => `${prefix}:alerts:sent:${jobId}`;
  return {
    async get(objectiveId, keyResultId) {
      const raw = await redis.hget(hash, resultKey(objectiveId, keyResultId));
      return { raw, state: raw === null ? null : (JSON.parse(raw) as AlertState) };
    },
    async all() {
      return Object.values(await redis.hgetall(hash)).map((raw) => JSON.parse(raw) as AlertState);
    },
    async compareAndSet(objectiveId, keyResultId, expected, next) {
      const done = await redis.eval(CAS, 1, hash, resultKey(objectiveId, keyResultId), expected ?? '', JSON.stringify(next));
      return done === 1;
    },
    async delete(objectiveId, keyResultId) {
      await redis.hdel(hash, resultKey(objectiveId, keyResultId));
    },
    async wasSent(jobId) {
      return (await redis.exists(sent(jobId))) === 1;
    },
    async markSent(jobId) {
      await redis.set(sent(jobId), '1', 'PX', sentTtlMs);
    },
  };
}
