// Batched evaluation: one evaluate job per objective evaluates the key results of the objective
// that need it, in one round (one read of each partition they share), instead of one job per key
// result per event.
//
// Redis, per objective (one hash, so that every script touches one key: one hash slot):
//   {prefix}:eval-dirty:{objective}   hash   n:{kr} -> marks so far, t:{kr} -> first mark (ms),
//                                             armed -> until when a batch job is on its way (ms)
//   {prefix}:eval-lock:{objective}    string the batch running now (one at a time per objective)
//
// - A finished sync marks the key results that read its stream dirty; the first mark after a
//   batch started arms one new batch job (delayed by `settleMs`, so a burst of syncs makes one).
// - A batch clears `armed` and reads the dirty marks in one step, so a sync finishing while the
//   batch runs arms the next batch: nothing waits for the next scheduled evaluation (a job id
//   deduplicated until completion would swallow it).
// - After evaluating, only marks that did not move meanwhile are cleared.
// - A key result whose stream has a sync waiting or running is left dirty (that sync marks it
//   again when it finishes), unless it has been dirty for a whole evaluation interval: start-up
//   evaluates each key result once its streams have synced, not once per stream.
// - The scheduler of each objective (every `schedule.evaluate`) marks all its key results.
import { randomUUID } from 'node:crypto';
import type { RedisClient as Redis } from '../lib/redis.js';
import type { Objective } from '../config/types.js';
import type { Queues } from './queues.js';

export interface BatchOptions {
  redis: Redis;
  /** The store's key prefix. */
  prefix: string;
  /** Adds the batch job of an objective, to run after `delayMs`. */
  enqueue: (objectiveId: string, delayMs: number) => Promise<unknown>;
  /** Wait after the first mark before the batch runs, so that marks close together make one batch (default 500 ms). */
  settleMs?: number;
  now?: () => number;
}

export interface DirtyState {
  /** Key result id -> [marks, first mark]. */
  marks: Map<string, [number, number]>;
}

export interface BatchPlan {
  /** Key results to evaluate now. */
  evaluate: string[];
  /** Left dirty: a sync of their streams is waiting or running. */
  deferred: string[];
}

// KEYS[1] dirty hash. ARGV: now, arm-until (0: do not arm), kr ids. Returns 1 when this call armed a new batch.
const MARK = `
for i = 3, #ARGV do
  redis.call('hincrby', KEYS[1], 'n:' .. ARGV[i], 1)
  redis.call('hsetnx', KEYS[1], 't:' .. ARGV[i], ARGV[1])
end
if ARGV[2] == '0' then return 0 end
local armed = tonumber(redis.call('hget', KEYS[1], 'armed') or '0')
if armed >= tonumber(ARGV[1]) then return 0 end
redis.call('hset', KEYS[1], 'armed', ARGV[2])
return 1`;

// KEYS[1] dirty hash. Disarms (the next mark arms a new batch) and returns the marks.
const CLAIM = `
redis.call('hdel', KEYS[1], 'armed')
return redis.call('hgetall', KEYS[1])`;

// KEYS[1] dirty hash. ARGV: kr, marks, kr, marks, ... Clears those whose count did not move.
const CLEAR = `
for i = 1, #ARGV, 2 do
  if redis.call('hget', KEYS[1], 'n:' .. ARGV[i]) == ARGV[i + 1] then
    redis.call('hdel', KEYS[1], 'n:' .. ARGV[i], 't:' .. ARGV[i])
  end
end
return redis.call('hlen', KEYS[1])`;

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const LOCK_MS = 60_000;
/** How long an armed batch job is trusted to be on its way; after this a mark arms another (a process that died between arming and adding the job). */
const ARMED_MS = 60_000;

export class EvaluationBatches {
  readonly #o: BatchOptions;
  readonly #settleMs: number;
  readonly #now: () => number;

  constructor(opts: BatchOptions) {
    this.#o = opts;
    this.#settleMs = opts.settleMs ?? 500;
    this.#now = opts.now ?? Date.now;
  }

  #dirtyKey(objectiveId: string) {
    return `${this.#o.prefix}:eval-dirty:${objectiveId}`;
  }

  /**
   * Marks key results of an objective dirty and adds its batch job unless one is already on its
   * way; with `arm: false` only marks (the caller is about to run the batch).
   */
  async markDirty(objectiveId: string, keyResultIds: readonly string[], { arm = true }: { arm?: boolean } = {}): Promise<boolean> {
    if (keyResultIds.length === 0) return false;
    const now = this.#now();
    const until = arm ? String(now + ARMED_MS + this.#settleMs) : '0';
    const armed = await this.#o.redis.eval(MARK, 1, this.#dirtyKey(objectiveId), String(now), until, ...keyResultIds);
    if (Number(armed) !== 1) return false;
    await this.#o.enqueue(objectiveId, this.#settleMs);
    return true;
  }

  /**
   * Runs one batch of an objective, one at a time per objective across every process: disarms,
   * reads the marks, lets `plan` choose what to evaluate now, evaluates it (`evaluate` returns
   * the ids done), then clears the marks of those that did not move meanwhile.
   */
  async run<T extends { done: string[] }>(
    objective: Objective,
    plan: (dirty: DirtyState) => Promise<BatchPlan>,
    evaluate: (keyResultIds: string[]) => Promise<T>,
  ): Promise<T & { deferred: string[] }> {
    return this.#locked(objective.id, async () => {
      const flat = (await this.#o.redis.eval(CLAIM, 1, this.#dirtyKey(objective.id))) as string[];
      const marks = new Map<string, [number, number]>();
      for (let i = 0; i < flat.length; i += 2) {
        const field = flat[i] as string;
        const id = field.slice(2);
        const entry = marks.get(id) ?? [0, 0];
        if (field.startsWith('n:')) entry[0] = Number(flat[i + 1]);
        else if (field.startsWith('t:')) entry[1] = Number(flat[i + 1]);
        else continue;
        marks.set(id, entry);
      }
      const known = new Set(objective.keyResults.map((kr) => kr.id));
      const gone = [...marks.keys()].filter((id) => !known.has(id));
      const p = await plan({ marks: new Map([...marks].filter(([id]) => known.has(id))) });
      const result = await evaluate(p.evaluate);
      const clear = [...result.done, ...gone].flatMap((id) => {
        const m = marks.get(id);
        return m ? [id, String(m[0])] : [];
      });
      if (clear.length) await this.#o.redis.eval(CLEAR, 1, this.#dirtyKey(objective.id), ...clear);
      return { ...result, deferred: p.deferred };
    });
  }

  /** Drops the marks of an objective that left the config. */
  async forget(objectiveId: string): Promise<void> {
    await this.#o.redis.del(this.#dirtyKey(objectiveId));
  }

  async #locked<T>(objectiveId: string, f: () => Promise<T>): Promise<T> {
    const lock = `${this.#o.prefix}:eval-lock:${objectiveId}`;
    const token = randomUUID();
    while ((await this.#o.redis.set(lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') await new Promise((r) => setTimeout(r, 50));
    const renew = setInterval(() => void this.#o.redis.eval(RENEW, 1, lock, token, String(LOCK_MS)).catch(() => undefined), LOCK_MS / 3);
    try {
      return await f();
    } finally {
      clearInterval(renew);
      await this.#o.redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
    }
  }
}

/** The batches of a deployment: `prefix` is the store's, jobs go to the evaluate queue. */
export function evaluationBatches(redis: Redis, prefix: string, queues: Pick<Queues, 'evaluate'>, opts: { settleMs?: number } = {}): EvaluationBatches {
  return new EvaluationBatches({
    redis,
    prefix,
    settleMs: opts.settleMs,
    enqueue: (objectiveId, delay) => queues.evaluate.add('evaluate', { objectiveId, dirty: true }, { delay }),
  });
}
