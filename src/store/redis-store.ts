import { Cluster, type ChainableCommander } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import type { RedisClient } from '../lib/redis.js';
import type { EvaluationResult } from '../core/result.js';
import { resultKey } from '../core/result.js';
import { eventTime, type EventKind, type EventKinds } from '../core/events.js';
import { SOURCE_COUNTERS, type SourceCounts, type SourceHealth, type Store } from '../core/store.js';
import { streamId, type StreamKey } from '../core/stream.js';

export interface RedisStoreOptions {
  /** One Redis, or a Redis Cluster (docs/redis-cluster.md). */
  redis: RedisClient;
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
 * Keys (prefix `krt` by default). `{T}` is a Redis Cluster hash tag: the owner of the partition or
 * stream (`acme/payments` for every repository partition and stream of it, the service id for
 * PagerDuty, see slotTag), so that a page and its cursor land in one hash slot (one MULTI) while
 * owners spread over the slots. The same names serve one Redis and a cluster (docs/redis-cluster.md).
 *   {p}:{T}:events:{kind}:{partition}   hash  event id -> event JSON (e.g. krt:{acme/payments}:events:deployment:acme/payments@production)
 *   {p}:{T}:events-at:{kind}:{partition}  zset  event id scored by its time (eventTime), written in the
 *                                       same MULTI as the hash; built once from the hash for data
 *                                       stored before the index existed
 *   {p}:{T}:cursors               hash  stream id -> cursor JSON (the streams of owner T)
 *   {p}:{T}:stream-keys:{stream id}  set  the events hashes the stream's cursor vouches for
 *   {p}:etags                     hash  URL -> ETag
 *   {p}:results                   hash  objective/kr -> latest EvaluationResult JSON
 *   {p}:history:{objective/kr}    zset  score evaluation instant, member `at:value`
 *   {p}:health                    hash  stream id -> SourceHealth JSON, with the stream's state (a sync
 *                                       writes it when it starts and ends; progress at most once a second)
 *   {p}:health-counts             hash  `stream id|counter` -> integer (the counters, HINCRBY)
 *   {p}:layout                    string  LAYOUT once keys of the layout before hash tags were moved (migrateLayout)
 * Every command touches one key, or keys of one tag: nothing crosses hash slots.
 */
export class RedisStore implements Store {
  readonly #redis: RedisClient;
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
    // One MULTI: the page's events and the cursor that says they are stored land together (one
    // hash slot: the partition and its stream have the same owner).
    const tx = this.#redis.multi();
    const key = this.#eventsKey(kind, partition);
    const index = this.#indexKey(kind, partition);
    const scored: (string | number)[] = [];
    for (const e of events) {
      tx.hset(key, String(e.id), JSON.stringify(e));
      scored.push(eventTime(kind, e), String(e.id));
    }
    if (scored.length > 0) tx.zadd(index, ...scored);
    if (stream && cursor !== undefined) {
      // A stream that writes another owner's partition (none does today) cannot share its MULTI:
      // the events go first, so that a crash in between replays the page, which duplicates nothing.
      const cx = slotTag(stream.key) === slotTag(partition) ? tx : null;
      if (!cx) await exec(tx);
      const c = cx ?? this.#redis.multi();
      c.hset(this.#cursorsKey(stream), streamId(stream), JSON.stringify(cursor));
      // The cursor now vouches for this hash: getCursor() checks that it still exists.
      if (events.length > 0) c.sadd(this.#marksKey(stream), key);
      await exec(c);
      return;
    }
    await exec(tx);
  }

  #tagged(owner: string): string {
    return `${this.#p}:{${slotTag(owner)}}`;
  }
  #eventsKey(kind: EventKind, partition: string): string {
    return `${this.#tagged(partition)}:events:${kind}:${partition}`;
  }
  #indexKey(kind: EventKind, partition: string): string {
    return `${this.#tagged(partition)}:events-at:${kind}:${partition}`;
  }
  #cursorsKey(stream: StreamKey): string {
    return `${this.#tagged(stream.key)}:cursors`;
  }
  #marksKey(stream: StreamKey): string {
    return `${this.#tagged(stream.key)}:stream-keys:${streamId(stream)}`;
  }

  async getEvents<K extends EventKind>(kind: K, partition: string): Promise<EventKinds[K][]> {
    const all = await this.#redis.hvals(this.#eventsKey(kind, partition));
    this.#count(all);
    return all.map((v) => JSON.parse(v) as EventKinds[K]);
  }

  async getEventsInRange<K extends EventKind>(kind: K, partition: string, from: number, to: number): Promise<EventKinds[K][]> {
    const key = this.#eventsKey(kind, partition);
    const index = this.#indexKey(kind, partition);
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
    const marks = this.#marksKey(stream);
    const [v, keys] = await Promise.all([this.#redis.hget(this.#cursorsKey(stream), id), this.#redis.smembers(marks)]);
    if (v === null) return null;
    if (keys.length > 0) {
      const exists = await Promise.all(keys.map((k) => this.#redis.exists(k)));
      const missing = keys.filter((_, i) => exists[i] === 0);
      if (missing.length > 0) {
        // The ETags first (another slot): should the process stop in between, the cursor is still
        // there and the next call finds the same gap and finishes the job.
        await this.#redis.del(`${this.#p}:etags`);
        await exec(this.#redis.multi().hdel(this.#cursorsKey(stream), id).srem(marks, ...missing));
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
    await this.#redis.hset(this.#cursorsKey(stream), streamId(stream), JSON.stringify(cursor));
  }

  async getEtag(url: string): Promise<string | null> {
    return this.#redis.hget(`${this.#p}:etags`, url);
  }

  async setEtag(url: string, etag: string): Promise<void> {
    await this.#redis.hset(`${this.#p}:etags`, url, etag);
  }

  async putResult(result: EvaluationResult): Promise<void> {
    // The history point, then the latest result (two slots in a cluster): the history may be a
    // point ahead of the latest result, never behind it.
    if (result.value !== null) await exec(this.#addHistory(this.#redis.multi(), result.objectiveId, result.keyResultId, [{ at: result.at, value: result.value }]));
    await this.#redis.hset(`${this.#p}:results`, resultKey(result.objectiveId, result.keyResultId), JSON.stringify(result));
  }

  async putHistory(objectiveId: string, keyResultId: string, points: { at: number; value: number }[]): Promise<void> {
    if (points.length === 0) return;
    await exec(this.#addHistory(this.#redis.multi(), objectiveId, keyResultId, points));
  }

  /** One point per instant (a re-evaluation replaces it), then the retention bounds. */
  #addHistory(tx: ChainableCommander, objectiveId: string, keyResultId: string, points: { at: number; value: number }[]) {
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
    // One key per command: the history keys lie in different slots of a cluster.
    await this.#redis.hdel(`${this.#p}:results`, ...gone);
    await Promise.all(gone.map((k) => this.#redis.del(`${this.#p}:history:${k}`)));
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
    // Counters and record are two keys (two slots in a cluster): the counters first.
    await this.#redis.hset(`${this.#p}:health-counts`, Object.fromEntries(SOURCE_COUNTERS.map((c) => [`${id}|${c}`, h[c]])));
    await this.#redis.hset(`${this.#p}:health`, id, JSON.stringify(h));
  }

  /** HSETNX starts a counter from the record's value when there is none yet; HINCRBY adds. */
  async recordSourceHealth(h: SourceHealth, added: Partial<SourceCounts>): Promise<void> {
    const id = streamId(h.stream);
    // The counters in one MULTI on their hash, then the record (another slot in a cluster): a
    // reader between the two sees the new counts with the previous record, never counts lost.
    const tx = this.#redis.multi();
    for (const c of SOURCE_COUNTERS) {
      tx.hsetnx(`${this.#p}:health-counts`, `${id}|${c}`, h[c]);
      if (added[c]) tx.hincrby(`${this.#p}:health-counts`, `${id}|${c}`, added[c]);
    }
    await exec(tx);
    await this.#redis.hset(`${this.#p}:health`, id, JSON.stringify(h));
  }

  /**
   * Moves the keys of the layout before hash tags (`{p}:events:{kind}:{partition}`, `{p}:cursors`,
   * ...) to their tagged names, once: the service calls it at start. Copies first (an event or
   * cursor already under the new name wins, being newer), deletes the old key after, so that a
   * stop halfway loses nothing and the next start finishes the move. Works on one Redis and on a
   * cluster that a Redis of the old layout was imported into. Returns what was moved.
   */
  async migrateLayout(): Promise<{ partitions: number; events: number; cursors: number }> {
    const moved = { partitions: 0, events: 0, cursors: 0 };
    if ((await this.#redis.get(`${this.#p}:layout`)) === LAYOUT) return moved;
    const p = globEscape(this.#p);
    const prefixLen = this.#p.length + 1;
    // The events hashes (and with them their time index), then the cursors' marks, then the cursors.
    for (const old of await scanAll(this.#redis, `${p}:events:*`)) {
      const rest = old.slice(prefixLen + 'events:'.length);
      const i = rest.indexOf(':');
      const kind = rest.slice(0, i) as EventKind;
      const partition = rest.slice(i + 1);
      const key = this.#eventsKey(kind, partition);
      const index = this.#indexKey(kind, partition);
      const all = await this.#redis.hgetall(old);
      const entries = Object.entries(all);
      for (let j = 0; j < entries.length; j += HMGET_CHUNK) {
        const tx = this.#redis.multi();
        const scored: (string | number)[] = [];
        for (const [id, json] of entries.slice(j, j + HMGET_CHUNK)) {
          tx.hsetnx(key, id, json);
          scored.push(eventTime(kind, JSON.parse(json) as EventKinds[typeof kind]), id);
        }
        tx.zadd(index, 'NX', ...scored);
        await exec(tx);
      }
      await this.#redis.del(`${this.#p}:events-at:${kind}:${partition}`);
      await this.#redis.del(old);
      moved.partitions++;
      moved.events += entries.length;
    }
    // Indexes whose hash is gone (a stop between the two DELs above).
    for (const old of await scanAll(this.#redis, `${p}:events-at:*`)) await this.#redis.del(old);
    const renamed = (k: string) => {
      if (!k.startsWith(`${this.#p}:events:`)) return k;
      const rest = k.slice(prefixLen + 'events:'.length);
      const i = rest.indexOf(':');
      return this.#eventsKey(rest.slice(0, i) as EventKind, rest.slice(i + 1));
    };
    for (const old of await scanAll(this.#redis, `${p}:stream-keys:*`)) {
      const stream = parseStreamId(old.slice(prefixLen + 'stream-keys:'.length));
      const members = await this.#redis.smembers(old);
      if (stream && members.length > 0) await this.#redis.sadd(this.#marksKey(stream), ...members.map(renamed));
      await this.#redis.del(old);
    }
    const cursors = await this.#redis.hgetall(`${this.#p}:cursors`);
    for (const [id, json] of Object.entries(cursors)) {
      const stream = parseStreamId(id);
      if (stream && (await this.#redis.hsetnx(this.#cursorsKey(stream), id, json))) moved.cursors++;
    }
    await this.#redis.del(`${this.#p}:cursors`);
    await this.#redis.set(`${this.#p}:layout`, LAYOUT);
    if (moved.partitions > 0 || moved.cursors > 0) {
      this.#logger?.warn({ ...moved }, 'moved events and cursors to the hash-tagged key layout (once; see docs/redis-cluster.md)');
    }
    return moved;
  }

  async close(): Promise<void> {
    // The connection belongs to the caller.
  }
}

/**
 * The hash tag of a partition or stream key: its owner, i.e. the text before the first `@` or `#`,
 * cut to at most two `/`-separated segments. Every partition and stream of one repository
 * (`acme/payments@production`, `acme/payments/ci.yml@main#coverage`, `acme/payments`) gives
 * `acme/payments`, a PagerDuty service gives its id. Braces would end the tag early: replaced.
 */
export function slotTag(key: string): string {
  const owner = (key.split(/[@#]/)[0] ?? '').split('/').slice(0, 2).join('/');
  return (owner || '_').replace(/[{}]/g, '_');
}

/** The stored layout: 2 = hash-tagged keys. */
const LAYOUT = '2';

/** Ids asked for per HMGET. */
const HMGET_CHUNK = 1000;

/** `source:stream:key` back to its parts (the key may hold `:`). */
function parseStreamId(id: string): StreamKey | null {
  const a = id.indexOf(':');
  const b = a < 0 ? -1 : id.indexOf(':', a + 1);
  if (b < 0) return null;
  return { source: id.slice(0, a), stream: id.slice(a + 1, b), key: id.slice(b + 1) };
}

/** Keys matching a glob on every master (a cluster keeps each slot on one of them). */
async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const out = new Set<string>();
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const k of keys) out.add(k);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...out];
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function score(n: number): string {
  return n === Infinity ? '+inf' : n === -Infinity ? '-inf' : String(n);
}

/** EXEC that fails loudly: ioredis reports per-command errors in the result array. */
async function exec(tx: ChainableCommander): Promise<void> {
  const res = await tx.exec();
  if (res === null) throw new Error('Redis transaction aborted');
  for (const [err] of res) if (err) throw err;
}
