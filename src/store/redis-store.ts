import type { Redis } from 'ioredis';
import type { EvaluationResult } from '../engine/result.js';
import { resultKey } from '../engine/result.js';
import type { EventKind, EventKinds } from './events.js';
import { streamId, type SourceHealth, type Store, type StreamKey } from './store.js';

export interface RedisStoreOptions {
  redis: Redis;
  /** Key prefix; tests use `test-<uuid>` so that runs never see each other. */
  prefix?: string;
  /** History kept per key result: points older than this are dropped (default 400 days). */
  historyMaxAgeMs?: number;
  /** ... and at most this many points (default 50,000: a quarter at one evaluation a minute is 129,600, at 5m 25,920). */
  historyMaxPoints?: number;
}

/**
 * Events, cursors and results in Redis, shared by every worker and exporter process.
 *
 * Keys (prefix `krt` by default):
 *   {p}:events:{kind}:{partition}  hash  event id -> event JSON (e.g. events:deployment:acme/payments@production)
 *   {p}:cursors                   hash  stream id -> cursor JSON
 *   {p}:etags                     hash  URL -> ETag
 *   {p}:results                   hash  objective/kr -> latest EvaluationResult JSON
 *   {p}:history:{objective/kr}    zset  score evaluation instant, member `at:value`
 *   {p}:health                    hash  stream id -> SourceHealth JSON, with the stream's state (a sync
 *                                       writes it when it starts and ends; progress at most once a second)
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #p: string;
  readonly #maxAge: number;
  readonly #maxPoints: number;

  constructor({ redis, prefix = 'krt', historyMaxAgeMs = 400 * 86_400_000, historyMaxPoints = 50_000 }: RedisStoreOptions) {
    this.#redis = redis;
    this.#p = prefix;
    this.#maxAge = historyMaxAgeMs;
    this.#maxPoints = historyMaxPoints;
  }

  async putEvents<K extends EventKind>(stream: StreamKey | null, kind: K, partition: string, events: EventKinds[K][], cursor?: unknown): Promise<void> {
    // One MULTI: the page's events and the cursor that says they are stored land together.
    const tx = this.#redis.multi();
    const key = `${this.#p}:events:${kind}:${partition}`;
    for (const e of events) tx.hset(key, String(e.id), JSON.stringify(e));
    if (stream && cursor !== undefined) tx.hset(`${this.#p}:cursors`, streamId(stream), JSON.stringify(cursor));
    await exec(tx);
  }

  async getEvents<K extends EventKind>(kind: K, partition: string): Promise<EventKinds[K][]> {
    const all = await this.#redis.hvals(`${this.#p}:events:${kind}:${partition}`);
    return all.map((v) => JSON.parse(v) as EventKinds[K]);
  }

  async getCursor<T>(stream: StreamKey): Promise<T | null> {
    const v = await this.#redis.hget(`${this.#p}:cursors`, streamId(stream));
    return v === null ? null : (JSON.parse(v) as T);
  }

  async setCursor(stream: StreamKey, cursor: unknown): Promise<void> {
    await this.#redis.hset(`${this.#p}:cursors`, streamId(stream), JSON.stringify(cursor));
  }

  async getEtag(url: string): Promise<string | null> {
    return this.#redis.hget(`${this.#p}:etags`, url);
  }

  async setEtag(url: string, etag: string): Promise<void> {
    await this.#redis.hset(`${this.#p}:etags`, url, etag);
  }

  async putResult(result: EvaluationResult): Promise<void> {
    const tx = this.#redis.multi().hset(`${this.#p}:results`, resultKey(result.objectiveId, result.keyResultId), JSON.stringify(result));
    if (result.value !== null) this.#addHistory(tx, result.objectiveId, result.keyResultId, [{ at: result.at, value: result.value }]);
    await exec(tx);
  }

  async putHistory(objectiveId: string, keyResultId: string, points: { at: number; value: number }[]): Promise<void> {
    if (points.length === 0) return;
    await exec(this.#addHistory(this.#redis.multi(), objectiveId, keyResultId, points));
  }

  /** One point per instant (a re-evaluation replaces it), then the retention bounds. */
  #addHistory(tx: ReturnType<Redis['multi']>, objectiveId: string, keyResultId: string, points: { at: number; value: number }[]) {
    const h = `${this.#p}:history:${resultKey(objectiveId, keyResultId)}`;
    for (const p of points) tx.zremrangebyscore(h, p.at, p.at).zadd(h, p.at, `${p.at}:${p.value}`);
    const newest = Math.max(...points.map((p) => p.at));
    return tx.zremrangebyscore(h, '-inf', `(${newest - this.#maxAge}`).zremrangebyrank(h, 0, -this.#maxPoints - 1);
  }

  async getResults(): Promise<EvaluationResult[]> {
    const all = await this.#redis.hvals(`${this.#p}:results`);
    return all.map((v) => JSON.parse(v) as EvaluationResult);
  }

  async getHistory(objectiveId: string, keyResultId: string, from: number, to: number) {
    const members = await this.#redis.zrangebyscore(`${this.#p}:history:${resultKey(objectiveId, keyResultId)}`, from, to);
    return members.map((m) => {
      const i = m.indexOf(':');
      return { at: Number(m.slice(0, i)), value: Number(m.slice(i + 1)) };
    });
  }

  async retainResults(keep: Set<string>): Promise<void> {
    const keys = await this.#redis.hkeys(`${this.#p}:results`);
    const gone = keys.filter((k) => !keep.has(k));
    if (gone.length === 0) return;
    await exec(
      this.#redis
        .multi()
        .hdel(`${this.#p}:results`, ...gone)
        .del(...gone.map((k) => `${this.#p}:history:${k}`)),
    );
  }

  async getSourceHealth(): Promise<SourceHealth[]> {
    return (await this.#redis.hvals(`${this.#p}:health`)).map((v) => JSON.parse(v) as SourceHealth);
  }

  async putSourceHealth(h: SourceHealth): Promise<void> {
    await this.#redis.hset(`${this.#p}:health`, streamId(h.stream), JSON.stringify(h));
  }

  async close(): Promise<void> {
    // The connection belongs to the caller.
  }
}

/** EXEC that fails loudly: ioredis reports per-command errors in the result array. */
async function exec(tx: ReturnType<Redis['multi']>): Promise<void> {
  const res = await tx.exec();
  if (res === null) throw new Error('Redis transaction aborted');
  for (const [err] of res) if (err) throw err;
}
