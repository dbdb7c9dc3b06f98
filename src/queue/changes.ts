// The change counter of a deployment's store: every process that writes results or source
// health adds one to `{prefix}:changes` (a Redis string, INCR), and the process serving /metrics
// and /api reads it (one GET per scrape, and once a second in the background) to know whether
// what it holds in memory is still what Redis holds. A counter rather than pub/sub: a message
// sent while the server was reconnecting would be lost, a counter is not, and checking it per
// scrape is what lets `krt_redis_up` say that Redis answered that scrape.
import type { RedisClient as Redis } from '../lib/redis.js';
import type { Store } from '../core/store.js';

export const changesKey = (prefix: string) => `${prefix}:changes`;

export interface Changes {
  /** Says that results or source health changed (coalesced: at most one INCR in flight, one more queued). */
  mark(): void;
  /** The counter (0 before any change); throws when Redis does not answer. */
  version(): Promise<number>;
  /** Resolves once every mark made so far has reached Redis (or failed). */
  flushed(): Promise<void>;
}

export function redisChanges(redis: Redis, prefix: string, onMark?: () => void): Changes {
  const key = changesKey(prefix);
  let inFlight: Promise<void> | null = null;
  let again = false;
  const send = (): Promise<void> =>
    redis.incr(key).then(
      () => undefined,
      () => undefined, // Redis away: the reader, which cannot read either, reloads once it answers
    );
  const run = () => {
    inFlight = send().then(() => {
      if (again) {
        again = false;
        run();
      } else {
        inFlight = null;
      }
    });
  };
  return {
    mark() {
      onMark?.();
      if (inFlight) again = true;
      else run();
    },
    async version() {
      return Number((await redis.get(key)) ?? 0);
    },
    async flushed() {
      while (inFlight) await inFlight;
    },
  };
}

const WRITES = new Set<string | symbol>(['putResult', 'putHistory', 'retainResults', 'putSourceHealth', 'recordSourceHealth']);

/** The store, marking a change after each write of results or source health. */
export function markingStore<S extends Store>(store: S, changes: Pick<Changes, 'mark'>): S {
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (!WRITES.has(prop)) return (v as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          changes.mark();
        }
      };
    },
  });
}
