// Check-ins and revisions in Redis, next to the store's keys (same prefix).
//
// Keys (prefix `krt` by default):
//   {p}:checkins:{objective}        list  check-in JSON, newest first, at most MAX_CHECKINS
//   {p}:kr-definition:{objective/kr} string the fingerprint of the KR's definition last seen
//   {p}:revisions:{objective/kr}    list  revision JSON, oldest first, at most MAX_REVISIONS
//   {p}:revise-note:{objective}     string the `krt checkin --revise` note waiting for the next revision (30 days)
import type { RedisClient } from '../lib/redis.js';
import { changesKey } from '../queue/changes.js';
import type { Config } from '../config/types.js';
import { resultKey } from '../core/result.js';
import type { Checkin } from './checkin.js';
import { changedFields, definitionOf, fingerprint, isMidPeriod, type KrDefinition, type Revision } from './revisions.js';

export const MAX_CHECKINS = 500;
export const MAX_REVISIONS = 100;
const REVISE_NOTE_TTL_S = 30 * 86_400;
/** A revision noticed this long before a `--revise` note still gets it. */
const LATE_NOTE_MS = 86_400_000;

export interface CheckinStore {
  /** Stores the check-in; with `revise`, the note goes on the latest unexplained revision of `keyResultIds`, or waits for the next one. */
  add(c: Checkin, keyResultIds?: readonly string[]): Promise<void>;
  /** The objective's check-ins, newest first. */
  list(objectiveId: string, limit?: number): Promise<Checkin[]>;
  /** The latest check-in of each objective that has one. */
  latest(objectiveIds: readonly string[]): Promise<Map<string, Checkin>>;
  /** Compares each KR's definition with the one last seen; records mid-period changes. */
  recordRevisions(config: Config, at: number): Promise<Revision[]>;
  revisions(objectiveId: string, keyResultId: string): Promise<Revision[]>;
  /** The latest revision of each KR of the config that has one, by `objective/kr`. */
  lastRevisions(config: Config): Promise<Map<string, Revision>>;
}

// Sets the definition and appends the revision only if the definition is still the one read,
// so two processes reloading the same change record it once.
const SWAP = `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
end
return 1`;

export function createCheckinStore({ redis, prefix = 'krt' }: { redis: RedisClient; prefix?: string }): CheckinStore {
  // Every key of one objective carries it as a hash tag: a check-in's MULTI and the revision
  // SWAP stay in one slot under Redis Cluster (docs/redis-cluster.md).
  const tag = (o: string) => `{${o}}`;
  const checkinsKey = (o: string) => `${prefix}:checkins:${tag(o)}`;
  const defKey = (o: string, kr: string) => `${prefix}:kr-definition:${tag(o)}:${kr}`;
  const revKey = (o: string, kr: string) => `${prefix}:revisions:${tag(o)}:${kr}`;
  const noteKey = (o: string) => `${prefix}:revise-note:${tag(o)}`;
  // Tells the process serving /metrics and /api that there is something new to read.
  const changed = () => redis.incr(changesKey(prefix)).then(() => undefined, () => undefined);
  const parse = <T>(s: string): T => JSON.parse(s) as T;

  async function revisions(objectiveId: string, keyResultId: string): Promise<Revision[]> {
    return (await redis.lrange(revKey(objectiveId, keyResultId), 0, -1)).map((s) => parse<Revision>(s));
  }

  return {
    async add(c, keyResultIds = []) {
      const tx = redis.multi().lpush(checkinsKey(c.objectiveId), JSON.stringify(c)).ltrim(checkinsKey(c.objectiveId), 0, MAX_CHECKINS - 1);
      if (c.revise) {
        // A note for a revision already noticed (the file changed first) goes on it; else it waits.
        let attached = false;
        for (const key of keyResultIds.map((kr) => revKey(c.objectiveId, kr))) {
          const last = await redis.lindex(key, -1);
          if (!last) continue;
          const r = parse<Revision>(last);
          if (r.note === null && c.at - r.at <= LATE_NOTE_MS && r.at <= c.at) {
            tx.lset(key, -1, JSON.stringify({ ...r, note: c.revise }));
            attached = true;
          }
        }
        if (!attached) tx.set(noteKey(c.objectiveId), JSON.stringify({ note: c.revise, at: c.at }), 'EX', REVISE_NOTE_TTL_S);
      }
      const res = await tx.exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed) throw new Error(`storing the check-in failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
      await changed();
    },
    async list(objectiveId, limit = MAX_CHECKINS) {
      return (await redis.lrange(checkinsKey(objectiveId), 0, limit - 1)).map((s) => parse<Checkin>(s));
    },
    async latest(objectiveIds) {
      const out = new Map<string, Checkin>();
      if (!objectiveIds.length) return out;
      // One command per key (sent together on the connection): the keys live in different slots.
      const res = await Promise.all(objectiveIds.map((id) => redis.lindex(checkinsKey(id), 0)));
      objectiveIds.forEach((id, i) => {
        const v = res[i];
        if (typeof v === 'string') out.set(id, parse<Checkin>(v));
      });
      return out;
    },
    async recordRevisions(config, at) {
      const recorded: Revision[] = [];
      for (const o of config.objectives) {
        for (const kr of o.keyResults) {
          const after = definitionOf(o, kr);
          const next = fingerprint(after);
          const prev = await redis.get(defKey(o.id, kr.id));
          if (prev === next) continue;
          let revision: Revision | null = null;
          if (prev !== null) {
            const before = parse<KrDefinition>(prev);
            const fields = changedFields(before, after);
            if (fields.length && isMidPeriod(after, at)) {
              let note = kr.revisionNote;
              if (note === null) {
                const waiting = await redis.getdel(noteKey(o.id));
                note = waiting ? parse<{ note: string }>(waiting).note : null;
              }
              revision = { objectiveId: o.id, keyResultId: kr.id, at, fields, before, after, note };
            }
          }
          const ok = await redis.eval(SWAP, 2, defKey(o.id, kr.id), revKey(o.id, kr.id), prev ?? '', next, revision ? JSON.stringify(revision) : '', String(MAX_REVISIONS));
          if (ok === 1 && revision) recorded.push(revision);
        }
      }
      if (recorded.length) await changed();
      return recorded;
    },
    revisions,
    async lastRevisions(config) {
      const ids = config.objectives.flatMap((o) => o.keyResults.map((kr) => [o.id, kr.id] as const));
      const out = new Map<string, Revision>();
      if (!ids.length) return out;
      const res = await Promise.all(ids.map(([o, kr]) => redis.lindex(revKey(o, kr), -1)));
      ids.forEach(([o, kr], i) => {
        const v = res[i];
        if (typeof v === 'string') out.set(resultKey(o, kr), parse<Revision>(v));
      });
      return out;
    },
  };
}
