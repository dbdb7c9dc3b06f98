import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import type { EvaluationResult } from '../core/result.js';
import { resultKey } from '../core/result.js';
import { eventTime, type EventKind, type EventKinds } from '../core/events.js';
import { SOURCE_COUNTERS, type SourceCounts, type SourceHealth, type Store } from '../core/store.js';
import { streamId, type StreamKey } from '../core/stream.js';

export interface RedisStoreOptions {
  redis: Redis;
  /** Key prefix; tests use `test-<uuid>` so that runs never see each other. */
  prefix?: string;
  /** History kept per key result: points older than this are dropped (default 400 days). */
  historyMaxAgeMs?: number;
  /** ... and at most this many points (default 50,000: a quarter at one evaluation a minute is 129,600, at 5m 25,920). */
  historyMaxPoints?: number;
  /** Told when stored state contradicts itself (a cursor whose events are gone) and is repaired. */
  logger?: Pick<Logger, 'warn'>;
}


/**
 * Events, cursors and results in Redis, shared by every worker and exporter process.
 *
 * Keys (prefix `krt` by default):
 *   {p}:events:{kind}:{partition}  hash  event id -> event JSON (e.g. events:deployment:acme/payments@production)
 *   {p}:events-at:{kind}:{partition}  zset  event id scored by its time (eventTime), written in the
 *                                       same MULTI as the hash; built once from the hash for data
 *                                       stored before the index existed
 *   {p}:cursors                   hash  stream id -> cursor JSON
 *   {p}:etags                     hash  URL -> ETag
 *   {p}:results                   hash  objective/kr -> latest EvaluationResult JSON
 *   {p}:history:{objective/kr}    zset  score evaluation instant, member `at:value`
 *   {p}:health                    hash  stream id -> SourceHealth JSON, with the stream's state (a sync
 *                                       writes it when it starts and ends; progress at most once a second)
 *   {p}:health-counts             hash  `stream id|counter` -> integer (the counters, HINCRBY)
 *   {p}:stream-keys:{stream id}   set   the events hashes the stream's cursor vouches for
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #p: string;
  readonly #maxAge: number;
  readonly #maxPoints: number;
  readonly #logger: Pick<Logger, 'warn'> | undefined;

  constructor({ redis, prefix = 'krt', historyMaxAgeMs = 400 * 86_400_000, historyMaxPoints = 50_000, logger }: RedisStoreOptions) {
    this.#redis = redis;
    this.#logger = logger;
    this.#p = prefix;
    this.#maxAge = historyMaxAgeMs;
    this.#maxPoints = historyMaxPoints;
  }

  async putEvents<K extends EventKind>(stream: StreamKey | null, kind: K, partition: string, events: EventKinds[K][], cursor?: unknown): Promise<void> {
    // One MULTI: the page's events and the cursor that says they are stored land together.
    const tx = this.#redis.multi();
    const key = `${this.#p}:events:${kind}:${partition}`;
    const index = `${this.#p}:events-at:${kind}:${partition}`;
    const scored: (string | number)[] = [];
    for (const e of events) {
      tx.hset(key, String(e.id), JSON.stringify(e));
      scored.push(eventTime(kind, e), String(e.id));
    }
    if (scored.length > 0) tx.zadd(index, ...scored);
    if (stream && cursor !== undefined) {
      tx.hset(`${this.#p}:cursors`, streamId(stream), JSON.stringify(cursor));
      // The cursor now vouches for this hash: getCursor() checks that it still exists.
      if (events.length > 0) tx.sadd(`${this.#p}:stream-keys:${streamId(stream)}`, key);
    }
    await exec(tx);
  }

  async getEvents<K extends EventKind>(kind: K, partition: string): Promise<EventKinds[K][]> {
    const all = await this.#redis.hvals(`${this.#p}:events:${kind}:${partition}`);
    this.#count(all);
    return all.map((v) => JSON.parse(v) as EventKinds[K]);
  }

  async getEventsInRange<K extends EventKind>(kind: K, partition: string, from: number, to: number): Promise<EventKinds[K][]> {
    const key = `${this.#p}:events:${kind}:${partition}`;
    const index = `${this.#p}:events-at:${kind}:${partition}`;
    // The whole partition: one HVALS, as getEvents.
    if (from === -Infinity && to === Infinity) return this.getEvents(kind, partition);
    const list = await this.#redis.zrangebyscore(index, score(from), score(to));
    if (list.length === 0 && (await this.#redis.exists(index)) === 0) return this.#indexPartition(kind, key, index, from, to);
    const out: EventKinds[K][] = [];
    for (let i = 0; i < list.length; i += HMGET_CHUNK) {
      const values = await this.#redis.hmget(key, ...list.slice(i, i + HMGET_CHUNK));
      this.#count(values);
      for (const v of values) if (v !== null) out.push(JSON.parse(v) as EventKinds[K]);
    }
    return out;
  }

  /** A partition stored before the time index existed: builds its index once from the hash. */
  async #indexPartition<K extends EventKind>(kind: K, key: string, index: string, from: number, to: number): Promise<EventKinds[K][]> {
    const all = await this.#redis.hvals(key);
    if (all.length === 0) return [];
    this.#count(all);
    const events = all.map((v) => JSON.parse(v) as EventKinds[K]);
    const args: (string | number)[] = [];
    for (const e of events) args.push(eventTime(kind, e), String(e.id));
    // ZADD NX: an event a concurrent page wrote meanwhile keeps the score that page gave it.
    for (let i = 0; i < args.length; i += 2 * HMGET_CHUNK) await this.#redis.zadd(index, 'NX', ...args.slice(i, i + 2 * HMGET_CHUNK));
    return events.filter((e) => {
      const t = eventTime(kind, e);
      return t >= from && t <= to;
    });
  }

  /** Events and bytes of event JSON read since the store was created (benchmarks, tests). */
  readonly reads = { events: 0, bytes: 0 };

  #count(values: (string | null)[]): void {
    for (const v of values) {
      if (v === null) continue;
      this.reads.events++;
      this.reads.bytes += Buffer.byteLength(v);
    }
  }

  /**
   * The stream's cursor, unless the events it vouches for are gone (a deleted key, an eviction, a
   * failover to a replica that missed writes): then the cursor and the ETags (whose 304s would say
   * "nothing new" forever) are dropped, so that the next sync fetches everything again.
   */
  async getCursor<T>(stream: StreamKey): Promise<T | null> {
    const id = streamId(stream);
    const marks = `${this.#p}:stream-keys:${id}`;
    const [v, keys] = await Promise.all([this.#redis.hget(`${this.#p}:cursors`, id), this.#redis.smembers(marks)]);
    if (v === null) return null;
    if (keys.length > 0) {
      const exists = await Promise.all(keys.map((k) => this.#redis.exists(k)));
      const missing = keys.filter((_, i) => exists[i] === 0);
      if (missing.length > 0) {
        await exec(this.#redis.multi().hdel(`${this.#p}:cursors`, id).del(`${this.#p}:etags`).srem(marks, ...missing));
        this.#logger?.warn(
          { stream: id, missing: missing.map((k) => k.slice(this.#p.length + 1)) },
          'stored events of the stream are gone while its cursor remained; dropped the cursor and the ETags, the next sync fetches everything again',
        );
        return null;
      }
    }
    return JSON.parse(v) as T;
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
    const [records, counts] = await Promise.all([this.#redis.hvals(`${this.#p}:health`), this.#redis.hgetall(`${this.#p}:health-counts`)]);
    return records.map((v) => {
      const h = JSON.parse(v) as SourceHealth;
      const id = streamId(h.stream);
      for (const c of SOURCE_COUNTERS) {
        const stored = counts[`${id}|${c}`];
        // Records written before the counters moved to their own hash keep their JSON totals.
        if (stored !== undefined) h[c] = Number(stored);
      }
      return h;
    });
  }

  async putSourceHealth(h: SourceHealth): Promise<void> {
    const id = streamId(h.stream);
    const tx = this.#redis.multi().hset(`${this.#p}:health`, id, JSON.stringify(h));
    for (const c of SOURCE_COUNTERS) tx.hset(`${this.#p}:health-counts`, `${id}|${c}`, h[c]);
    await exec(tx);
  }

  /** HSETNX starts a counter from the record's value when there is none yet; HINCRBY adds. */
  async recordSourceHealth(h: SourceHealth, added: Partial<SourceCounts>): Promise<void> {
    const id = streamId(h.stream);
    const tx = this.#redis.multi().hset(`${this.#p}:health`, id, JSON.stringify(h));
    for (const c of SOURCE_COUNTERS) {
      tx.hsetnx(`${this.#p}:health-counts`, `${id}|${c}`, h[c]);
      if (added[c]) tx.hincrby(`${this.#p}:health-counts`, `${id}|${c}`, added[c]);
    }
    await exec(tx);
  }

  async close(): Promise<void> {
    // The connection belongs to the caller.
  }
}

/** Ids asked for per HMGET. */
const HMGET_CHUNK = 1000;

function score(n: number): string {
  return n === Infinity ? '+inf' : n === -Infinity ? '-inf' : String(n);
}

/** EXEC that fails loudly: ioredis reports per-command errors in the result array. */
async function exec(tx: ReturnType<Redis['multi']>): Promise<void> {
  const res = await tx.exec();
  if (res === null) throw new Error('Redis transaction aborted');
  for (const [err] of res) if (err) throw err;
}
