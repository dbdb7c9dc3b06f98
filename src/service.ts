// `krt serve` and `krt worker`: the long-running service on Redis and BullMQ.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfig } from './config/load.js';
import type { Config } from './config/types.js';
import { createMetricsExporter } from './exporters/metrics.js';
import { startHttpServer, type RunningHttpServer } from './exporters/http.js';
import type { Logger } from './lib/logger.js';
import { connectRedis, redisOptions } from './lib/redis.js';
import { createQueues, reconcileSchedulers, syncNow } from './queue/queues.js';
import { createWorkers } from './queue/workers.js';
import { createAlerting } from './alerts/index.js';
import { dashboardUid } from '../dashboards/uid.js';
import { resultKey } from './engine/result.js';
import { RedisStore } from './store/redis-store.js';
import { createConnectors, type Connectors } from './sync/connectors.js';
import { RedisBudget } from '../connectors/kit/budget.js';

export interface ServiceOptions {
  configFile: string;
  redisUrl: string;
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
}

export interface RunningService {
  url: string | null;
  config(): Config;
  /** Re-reads the OKR file; a broken file is logged and the last good one stays in force. */
  reload(): Promise<boolean>;
  /** Lets in-flight jobs finish, then closes everything. */
  stop(): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  let config = await loadConfig(opts.configFile, opts.env);
  const redis = connectRedis(opts.redisUrl);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const store = new RedisStore({ redis, prefix: opts.prefix });
  // Every worker of this prefix shares each credential's rate-limit budget.
  const budget = new RedisBudget(redis, opts.prefix);
  const connection = redisOptions(opts.redisUrl);
  const bullPrefix = `${opts.prefix}-bull`;
  const queues = createQueues({ connection, prefix: bullPrefix });
  let connectors: Connectors = createConnectors({ config, store, logger, now, github: { budget } });

  const apply = async (c: Config) => {
    if (opts.role !== 'serve') return;
    const report = await reconcileSchedulers(queues, c);
    await store.retainResults(new Set(c.objectives.flatMap((o) => o.keyResults.map((kr) => resultKey(o.id, kr.id)))));
    await syncNow(queues, c);
    await alerting.schedule();
    logger.info({ schedulers: report.upserted.length, removed: report.removed }, 'schedulers reconciled');
  };
  const alerting = createAlerting({
    connection,
    prefix: opts.prefix,
    redis,
    config: () => config,
    logger,
    now,
    dashboardUrl: (id) => `${(opts.grafanaUrl ?? 'http://localhost:3000').replace(/\/$/, '')}/d/${dashboardUid(id)}`,
    smtp: config.alerts.smtp,
    pagerDutyEventsUrl: config.alerts.pagerDutyEventsUrl,
    settings: () => config.alerts.settings,
    store,
  });
  alerting.startWorker();
  await apply(config);

  const workers = createWorkers({
    connection,
    prefix: bullPrefix,
    queues,
    store,
    connectors: () => connectors,
    config: () => config,
    logger,
    now,
    concurrency: opts.concurrency,
    onResult: (o, kr, r) => alerting.onResult(o, kr, r),
  });

  let http: RunningHttpServer | null = null;
  if (opts.role === 'serve') {
    const exporter = createMetricsExporter({ store, config: () => config, now });
    http = await startHttpServer({
      exporter,
      store,
      config: () => config,
      now,
      logger,
      host: opts.host,
      port: opts.port,
      ready: async () => (await redis.ping().catch(() => null)) === 'PONG',
    });
    logger.info({ url: http.url }, 'serving /metrics, /healthz, /readyz, /api/v1/objectives');
  }

  const reload = async (): Promise<boolean> => {
    try {
      const next = await loadConfig(opts.configFile, opts.env);
      config = next;
      connectors = createConnectors({ config, store, logger, now, github: { budget } });
      await apply(next);
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
  if (opts.watchConfig) {
    let timer: NodeJS.Timeout | null = null;
    // The folder, not the file: editors and Kubernetes config maps replace the file (a new inode),
    // which ends a watch on the file itself.
    watcher = watch(dirname(resolve(opts.configFile)), (_event, name) => {
      if (name !== basename(opts.configFile)) return;
      // Editors write in several steps; act once the file has settled.
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload(), 300);
    });
  }

  return {
    url: http?.url ?? null,
    config: () => config,
    reload,
    async stop() {
      process.off('SIGHUP', onHup);
      watcher?.close();
      await http?.close();
      await workers.close();
      await alerting.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
