// `krt serve` and `krt worker`: the long-running service on Redis and BullMQ.
import type { FSWatcher } from 'node:fs';
import { loadConfig } from './config/load.js';
import { watchConfigPath } from './config/watch.js';
import type { Config } from './config/types.js';
import { startHttpServer, type RunningHttpServer } from './exporters/http.js';
import { createExplainHandler, explainPath } from './exporters/explain-route.js';
import type { Logger } from './lib/logger.js';
import { bullConnection, bullPrefix, connectStoreTarget, describeRedisTarget, evictionProblem, pingWithin, redisTarget, whenReady } from './lib/redis.js';
import { createQueues, createSyncGate, reconcileSchedulers, syncNow } from './queue/queues.js';
import { createWorkers } from './queue/workers.js';
import { markingStore, redisChanges } from './queue/changes.js';
import { evaluationBatches } from './queue/batches.js';
import { createAlerting } from './alerts/index.js';
import { dashboardUid } from '../dashboards/uid.js';
import { resultKey } from './core/result.js';
import { RedisStore } from './store/redis-store.js';
import { createConnectors, type Connectors } from './sync/connectors.js';
import { RedisBudget } from '../connectors/kit/budget.js';
import { createCheckinStore } from './checkins/checkin-store.js';
import { createCheckinRoutes } from './checkins/http-route.js';

export interface ServiceOptions {
  configFile: string;
  redisUrl: string;
  /** Seed nodes of a Redis Cluster (`host:port,...`, env KRT_REDIS_CLUSTER): used instead of redisUrl. */
  redisCluster?: string;
  /** Prefix of every Redis key (store and BullMQ), so several deployments can share a Redis. */
  prefix: string;
  /** `serve`: schedulers, workers and HTTP; `worker`: workers only. */
  role: 'serve' | 'worker';
  host?: string;
  port?: number;
  concurrency?: number;
  logger: Logger;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Re-read the OKR file when it changes on disk (SIGHUP always does). */
  watchConfig?: boolean;
  /** Grafana base URL for the dashboard links in alerts (env GRAFANA_URL). */
  grafanaUrl?: string;
  /** The service's URL as people reach it (KRT_URL), for links in alerts; default: the listener's. */
  serviceUrl?: string;
  /** How long start-up waits for Redis before serving without it (not ready); default 3 s. */
  redisWaitMs?: number;
  /** How often schedulers are reconciled with the config (default: the sync interval, at most 1 min). */
  reconcileEveryMs?: number;
  /** Wait after a sync finishes before its key results are evaluated, so that syncs finishing together make one batch (default 500 ms). */
  evaluateSettleMs?: number;
}

export interface RunningService {
  url: string | null;
  config(): Config;
  /** Re-reads the OKR file; a broken file is logged and the last good one stays in force. */
  reload(): Promise<boolean>;
  /** Lets in-flight jobs finish, then closes everything. */
  stop(): Promise<void>;
}

/** A reason the service cannot start: the command exits non-zero with this message. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

function listenProblem(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new StartupError(`port ${port} on ${host} is already in use; stop what listens there, or pass another --port (server.listen)`);
  if (code === 'EADDRNOTAVAIL') return new StartupError(`${host} is not an address of this machine; pass --host 127.0.0.1, 0.0.0.0 or one of its addresses (server.listen)`);
  if (code === 'EACCES') return new StartupError(`not allowed to listen on port ${port} (ports below 1024 need privileges); pass --port 9464 (server.listen)`);
  return new StartupError(`cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`);
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  let config = await loadConfig(opts.configFile, opts.env);
  const target = redisTarget(opts.redisUrl, opts.redisCluster);
  const redis = connectStoreTarget(target);
  let lastRedisError = '';
  redis.on('error', (err) => {
    // ioredis repeats the error on every reconnect attempt: log each new one once.
    if (err.message === lastRedisError) return;
    lastRedisError = err.message;
    logger.warn({ err: err.message }, 'redis connection error');
  });
  redis.on('ready', () => (lastRedisError = ''));
  // Every write of results or source health moves the change counter, which tells the process
  // serving /metrics (this one or another) to read them again.
  const changes = redisChanges(redis, opts.prefix);
  const store = markingStore(new RedisStore({ redis, prefix: opts.prefix, logger }), changes);
  const checkins = createCheckinStore({ redis, prefix: opts.prefix });
  // Every worker of this prefix shares each credential's rate-limit budget.
  const budget = new RedisBudget(redis, opts.prefix);
  // In a cluster, BullMQ's keys need a hash-tagged prefix (one slot per prefix); see docs/redis-cluster.md.
  const bull = bullConnection(target);
  const connection = bull.connection;
  const queuePrefix = bullPrefix(`${opts.prefix}-bull`, target);

  // The HTTP endpoint first: it answers /healthz while Redis is away, and a busy port stops the
  // start before anything else runs.
  let http: RunningHttpServer | null = null;
  // The live sources (PromQL) of the connectors in force; none before they are made, just below.
  const liveNow = () => {
    try {
      return connectors.live;
    } catch {
      return {};
    }
  };
  if (opts.role === 'serve') {
    const host = opts.host ?? config.server?.host ?? '127.0.0.1';
    const port = opts.port ?? config.server?.port ?? 9464;
    try {
      http = await startHttpServer({
        store,
        version: () => changes.version(),
        config: () => config,
        now,
        logger,
        host,
        port,
        ready: () => pingWithin(redis, 800),
        checkins: createCheckinRoutes({ checkins, store }),
        checkinStore: checkins,
        explain: createExplainHandler({ store, config: () => config, now, live: () => liveNow() }),
      });
    } catch (err) {
      redis.disconnect();
      bull.close();
      throw listenProblem(err, host, port);
    }
    logger.info({ url: http.url }, 'serving /metrics, /healthz, /readyz, /api/v1/objectives');
  }

  redis.connect().catch(() => undefined); // reconnects by itself; errors are logged above
  const connected = await whenReady(redis, opts.redisWaitMs ?? 3_000);
  if (connected) {
    const { problem, unknown } = await evictionProblem(redis);
    if (problem) {
      await http?.close();
      redis.disconnect();
      bull.close();
      throw new StartupError(problem);
    }
    if (unknown) logger.warn({ err: unknown }, 'could not read maxmemory-policy; make sure it is noeviction');
  } else {
    logger.warn({ redis: describeRedisTarget(target) }, 'Redis does not answer; /readyz says 503 and nothing is synced until it does');
  }

  // Keys of the layout before hash tags move to their tagged names once, before anything reads them.
  let migrated: Promise<unknown> | null = null;
  const migrate = () => {
    migrated ??= store.migrateLayout().catch((err: unknown) => {
      migrated = null;
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'moving stored keys to the hash-tagged layout failed; trying again at the next reconnect');
    });
    return migrated;
  };
  if (connected) await migrate();

  const queues = createQueues({ connection, prefix: queuePrefix });
  let connectors: Connectors = createConnectors({ config, store, logger, now, github: { budget } });

  const apply = async (c: Config, why: string) => {
    if (opts.role !== 'serve') return;
    const report = await reconcileSchedulers(queues, c);
    await store.retainResults(new Set(c.objectives.flatMap((o) => o.keyResults.map((kr) => resultKey(o.id, kr.id)))));
    // Course corrections: a target, baseline, kind or period changed mid-period is recorded.
    for (const r of await checkins.recordRevisions(c, now())) logger.info({ objective: r.objectiveId, keyResult: r.keyResultId, fields: r.fields, note: r.note }, 'key result revised');
    // Missing schedulers mean a Redis that lost its keys (or a first start): sync at once. The
    // sync gate folds this with the schedulers' own first jobs into one sync per stream.
    if (why !== 'periodic' || report.created.length > 0) await syncNow(queues, c);
    await alerting.schedule();
    if (why !== 'periodic' || report.created.length > 0 || report.removed.length > 0) {
      logger.info({ why, schedulers: report.upserted.length, created: report.created.length, removed: report.removed }, 'schedulers reconciled');
    }
  };
  const alerting = createAlerting({
    connection,
    prefix: opts.prefix,
    queuePrefix: bullPrefix(opts.prefix, target),
    redis,
    config: () => config,
    logger,
    now,
    dashboardUrl: (id) => `${(opts.grafanaUrl ?? 'http://localhost:3000').replace(/\/$/, '')}/d/${dashboardUid(id)}`,
    // The service as people reach it (KRT_URL), else this process's listener, else a path on it.
    explainUrl: (o, kr) => explainPath(o, kr, opts.serviceUrl ?? http?.url ?? ''),
    smtp: config.alerts.smtp,
    pagerDutyEventsUrl: config.alerts.pagerDutyEventsUrl,
    settings: () => config.alerts.settings,
    store,
    checkins,
  });
  alerting.startWorker();

  // Reconciling runs at start, whenever the connection to Redis comes back (a restart or a
  // failover to an empty replica) and periodically (keys lost without a reconnect), one at a time.
  let reconciling: Promise<void> | null = null;
  const reconcile = (why: string): Promise<void> => {
    if (opts.role !== 'serve' || stopping) return Promise.resolve();
    if (reconciling) return reconciling;
    reconciling = (async () => {
      if (redis.status !== 'ready') return;
      if (why === 'reconnect') {
        const { problem } = await evictionProblem(redis);
        if (problem) logger.error({}, problem);
      }
      await apply(config, why);
    })()
      .catch((err: unknown) => logger.warn({ why, err: err instanceof Error ? err.message : String(err) }, 'reconciling schedulers failed; trying again later'))
      .finally(() => (reconciling = null));
    return reconciling;
  };
  let stopping = false;
  if (connected) await reconcile('start');
  let wasReady = connected;
  const onReady = () => {
    const again = wasReady;
    wasReady = true;
    void migrate().then(() => reconcile(again ? 'reconnect' : 'start'));
  };
  redis.on('ready', onReady);
  const every = opts.reconcileEveryMs ?? Math.min(config.schedule.syncMs, 60_000);
  const timer = setInterval(() => void reconcile('periodic'), every);
  timer.unref();

  const workers = createWorkers({
    connection,
    prefix: queuePrefix,
    queues,
    store,
    connectors: () => connectors,
    config: () => config,
    logger,
    now,
    concurrency: opts.concurrency,
    onResult: (o, kr, r) => alerting.onResult(o, kr, r),
    syncGate: createSyncGate(redis, opts.prefix),
    batches: evaluationBatches(redis, opts.prefix, queues, { settleMs: opts.evaluateSettleMs }),
  });

  const reload = async (): Promise<boolean> => {
    try {
      const next = await loadConfig(opts.configFile, opts.env);
      config = next;
      connectors = createConnectors({ config, store, logger, now, github: { budget } });
      await apply(next, 'reload');
      logger.info({ file: opts.configFile }, 'config reloaded');
      return true;
    } catch (err) {
      logger.error({ file: opts.configFile, err: err instanceof Error ? err.message : String(err) }, 'config rejected; keeping the last good one');
      return false;
    }
  };
  const onHup = () => void reload();
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | null = null;
  // A file, or a directory of team files (config/okrs.d/): see src/config/watch.ts.
  if (opts.watchConfig) watcher = watchConfigPath(opts.configFile, () => void reload());

  return {
    url: http?.url ?? null,
    config: () => config,
    reload,
    async stop() {
      stopping = true;
      clearInterval(timer);
      redis.off('ready', onReady);
      process.off('SIGHUP', onHup);
      watcher?.close();
      await http?.close();
      await workers.close();
      await alerting.close();
      await queues.close();
      bull.close();
      redis.disconnect();
    },
  };
}
