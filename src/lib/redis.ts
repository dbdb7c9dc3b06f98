import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A connection for the store and BullMQ (which requires maxRetriesPerRequest: null). */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/**
 * The service's own connection (store, locks, alert state): while Redis is away its commands fail
 * at once instead of queueing (so /readyz, /metrics and the API answer), a command that gets no
 * answer fails after `commandTimeout`, and it keeps reconnecting in the background. Call
 * connect() (lazy); BullMQ keeps its own connections, with maxRetriesPerRequest: null as it requires.
 */
export function connectStoreRedis(url: string, { commandTimeout = 5_000 }: { commandTimeout?: number } = {}): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    connectTimeout: 3_000,
    retryStrategy: (attempt) => Math.min(attempt * 250, 2_000),
  });
}

/** Resolves true once the connection is ready, false after `timeoutMs` (it keeps trying). */
export function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** True when PING is answered within `timeoutMs`; never waits longer, never throws. */
export async function pingWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([redis.ping().then((r) => r === 'PONG', () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why this Redis must not hold kr-tracker's data, or null: a `maxmemory-policy` other than
 * noeviction silently drops keys (events, cursors, BullMQ's own). A Redis that forbids CONFIG
 * (some managed services) is trusted, with a warning from the caller.
 */
export async function evictionProblem(redis: Redis): Promise<{ problem: string | null; unknown?: string }> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (err) {
    return { problem: null, unknown: err instanceof Error ? err.message : String(err) };
  }
  if (policy === undefined || policy === 'noeviction') return { problem: null };
  return {
    problem:
      `Redis evicts keys under memory pressure (maxmemory-policy ${policy}), which would silently lose collected events, ` +
      'sync cursors and queued jobs; set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction) ' +
      'and give Redis enough memory, or use a Redis of its own for kr-tracker',
  };
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** ioredis options from a `redis://[user:pass@]host:port[/db]` URL, for BullMQ's own connections. */
export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new Error(`REDIS_URL ${u.protocol}//${u.host}: only redis:// URLs are supported`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    maxRetriesPerRequest: null,
  };
}
