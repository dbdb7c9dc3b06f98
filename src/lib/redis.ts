import { Cluster, Redis } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';

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
export function whenReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
export async function pingWithin(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
export async function evictionProblem(redis: RedisClient): Promise<{ problem: string | null; unknown?: string }> {
  let policy: string | undefined;
  let where = '';
  try {
    // In a cluster every master holds a share of the keys: each must keep them.
    for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
      const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
      if (reply[1] !== undefined && reply[1] !== 'noeviction') {
        policy = reply[1];
        if (redis instanceof Cluster) where = ` on ${node.options.host}:${node.options.port}`;
        break;
      }
    }
  } catch (err) {
    return { problem: null, unknown: err instanceof Error ? err.message : String(err) };
  }
  if (policy === undefined || policy === 'noeviction') return { problem: null };
  return {
    problem:
      `Redis${where} evicts keys under memory pressure (maxmemory-policy ${policy}), which would silently lose collected events, ` +
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

/** A connection to one Redis or to a Redis Cluster: the store, locks and budgets use either. */
export type RedisClient = Redis | Cluster;

/** Where kr-tracker's Redis is: one server by URL, or the seed nodes of a Redis Cluster. */
export type RedisTarget = { url: string } | { cluster: ClusterSeeds };

export interface ClusterSeeds {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
}

/**
 * The seed nodes of `--redis-cluster` (env KRT_REDIS_CLUSTER): `host:port` or
 * `redis://[user:pass@]host:port`, separated by commas. Any one reachable node is enough; the
 * client learns the others from it. Credentials, when given, are those of every node.
 */
export function parseClusterSeeds(spec: string): ClusterSeeds {
  const out: ClusterSeeds = { nodes: [] };
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    let u: URL;
    try {
      u = new URL(raw.includes('://') ? raw : `redis://${raw}`);
    } catch {
      throw new Error(`--redis-cluster (env KRT_REDIS_CLUSTER): "${raw}" is not host:port; give the cluster's nodes as host:port,host:port`);
    }
    if (u.protocol !== 'redis:') throw new Error(`--redis-cluster (env KRT_REDIS_CLUSTER): ${u.protocol}//${u.host}: only host:port or redis:// entries are supported`);
    const port = Number(u.port || 6379);
    if (!u.hostname || !Number.isInteger(port) || port <= 0) throw new Error(`--redis-cluster (env KRT_REDIS_CLUSTER): "${raw}" has no host or port; give host:port`);
    if (u.pathname.length > 1) throw new Error(`--redis-cluster (env KRT_REDIS_CLUSTER): "${raw}" names a database; a Redis Cluster has only database 0, leave the /db out`);
    out.nodes.push({ host: u.hostname, port });
    if (u.username) out.username = decodeURIComponent(u.username);
    if (u.password) out.password = decodeURIComponent(u.password);
  }
  if (out.nodes.length === 0) throw new Error('--redis-cluster (env KRT_REDIS_CLUSTER) is empty; give the cluster\'s nodes as host:port,host:port');
  return out;
}

/** The target the command line and environment name: a cluster when `cluster` is set, else the URL. */
export function redisTarget(url: string, cluster: string | undefined): RedisTarget {
  return cluster && cluster.trim() ? { cluster: parseClusterSeeds(cluster) } : { url };
}

/** The target for messages, without passwords. */
export function describeRedisTarget(t: RedisTarget): string {
  if ('url' in t) {
    try {
      const u = new URL(t.url);
      if (u.password) u.password = '***';
      return u.toString().replace(/\/$/, '');
    } catch {
      return t.url.replace(/\/\/[^@/]*@/, '//***@');
    }
  }
  return `cluster ${t.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/**
 * A command meeting a failed master is retried while its replica takes over (a few seconds:
 * cluster-node-timeout plus the election), instead of ioredis's default 16 x 100 ms.
 */
const FAILOVER_RETRIES = { retryDelayOnFailover: 500, retryDelayOnClusterDown: 500, retryDelayOnTryAgain: 500, maxRedirections: 40 } as const;

/**
 * connectStoreRedis for a target: one server, or a Redis Cluster client (lazy, with the same fail-fast
 * behaviour per node; a moved slot or a failover is followed by the client).
 */
export function connectStoreTarget(t: RedisTarget, opts: { commandTimeout?: number } = {}): RedisClient {
  if ('url' in t) return connectStoreRedis(t.url, opts);
  const { nodes, username, password } = t.cluster;
  return new Cluster(nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 250, 2_000),
    ...FAILOVER_RETRIES,
    redisOptions: {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeout ?? 5_000,
      connectTimeout: 3_000,
    },
  });
}

/**
 * BullMQ's connection for a target: options for one server (BullMQ opens its own connections), or
 * one Cluster client that the queues share and the workers duplicate (the caller closes it).
 */
export function bullConnection(t: RedisTarget): { connection: ConnectionOptions; close(): void } {
  if ('url' in t) return { connection: redisOptions(t.url), close() {} };
  const { nodes, username, password } = t.cluster;
  const cluster = new Cluster(nodes, {
    ...FAILOVER_RETRIES,
    // No ready check (CLUSTER INFO must say cluster_state:ok before the client is ready): when a
    // master fails, BullMQ's watchdog reconnects a worker's blocking client and awaits
    // Cluster.connect(); if that connect meets cluster_state:fail (the replica not yet promoted),
    // ioredis reconnects on its own but never settles the awaited promise, and the worker stops
    // fetching jobs for good (ioredis 5.11, BullMQ 5.81). Without the check the client is ready as
    // soon as it has the slots, and a command meeting CLUSTERDOWN is retried (retryDelayOnClusterDown).
    enableReadyCheck: false,
    redisOptions: { ...(username ? { username } : {}), ...(password ? { password } : {}), maxRetriesPerRequest: null },
  });
  cluster.on('error', () => {}); // BullMQ's queues and workers report connection trouble
  return { connection: cluster, close: () => cluster.disconnect() };
}

/**
 * The prefix of BullMQ keys. A BullMQ queue's scripts touch several of its keys at once, so in a
 * Redis Cluster the prefix must be a hash tag (`{krt-bull}`) that puts them in one slot; on one
 * Redis the names stay as they were.
 */
export function bullPrefix(prefix: string, t: RedisTarget): string {
  return 'cluster' in t ? `{${prefix}}` : prefix;
}
