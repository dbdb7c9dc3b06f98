// `krt`: the command line (README "Using it"). One top-level catch turns errors into a message
// and an exit code: 1 for bad input (the message says where and how to fix it), 2 otherwise.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { formatProblem, loadConfig, loadConfigWithWarnings, type ConfigProblem } from '../config/load.js';
import { formatWarning, lintConfigFile } from '../config/lint.js';
import { formatPath } from '../config/path.js';
import { runOnce } from '../engine/run-once.js';
import { objectivesDocument, type ObjectivesDocument } from '../exporters/objectives-view.js';
import { sourcesView, type SourceView } from '../exporters/sources-view.js';
import { backfill } from '../engine/backfill.js';
import { RedisStore } from '../store/redis-store.js';
import { planStreams } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../lib/logger.js';
import { connectStoreRedis, bullConnection, bullPrefix, connectRedis, connectStoreTarget, DEFAULT_REDIS_URL, describeRedisTarget, redisTarget, whenReady } from '../lib/redis.js';
import { EVALUATE_QUEUE, SYNC_QUEUE } from '../queue/queues.js';
import { markingStore, redisChanges } from '../queue/changes.js';
import { ALERTS_QUEUE } from '../alerts/deliver.js';
import { startService } from '../service.js';
import { MemoryStore } from '../store/memory-store.js';
import { createConnectors } from '../sync/connectors.js';
import { clockTime, describeStream, progressBar, renderSources, renderTable, renderTree, streamLabel } from './table.js';

/**
 * The OKR file when -c is not given: KRT_CONFIG, else config/okrs.yaml, else (in a fresh clone,
 * where only the example exists) config/okrs.example.yaml.
 */
export const DEFAULT_CONFIG = process.env.KRT_CONFIG ?? (existsSync('config/okrs.yaml') || !existsSync('config/okrs.example.yaml') ? 'config/okrs.yaml' : 'config/okrs.example.yaml');
const CONFIG_HELP = 'the OKR file, or a directory of them such as config/okrs.d/ (env KRT_CONFIG; default config/okrs.yaml, or config/okrs.example.yaml when that does not exist)';

/** The version of package.json, found from this module upwards (src/ under tsx, dist/src/ when built). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kr-tracker' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Prints unset-variable warnings (validate, lint, dashboards, rules) to stderr, one per line. */
function printUnset(unset: ConfigProblem[], requireEnvHint: boolean): void {
  for (const w of unset) console.error(`warning: ${formatProblem(w)}`);
  if (unset.length && requireEnvHint) {
    console.error(`warning: ${unset.length} environment variable${unset.length === 1 ? ' is' : 's are'} unset; serve, worker and run need them (--require-env makes this an error)`);
  }
}

const parseInstant = (v: string): number => {
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`"${v}" is not an ISO date or date-time (e.g. 2026-11-25 or 2026-11-25T12:00:00Z)`);
  return t;
};
const parseDay = (v: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) throw new InvalidArgumentError(`"${v}" is not a day; write YYYY-MM-DD, e.g. 2026-10-01`);
  return v;
};
const parsePort = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port number (0-65535)`);
  return n;
};

/**
 * Connector settings of the one-shot commands (`run --once`, `status --once`): short retries, and
 * no rate-limit wait longer than a few seconds inside a request, so that an unreachable or
 * exhausted source is reported within seconds instead of retried for a minute.
 */
const ONE_SHOT = { retryBaseMs: 100, maxRetries: 2, github: { maxRateLimitWaitMs: 3000 } };

/**
 * One line on stderr per stream that did not finish (failed with the reason, or waiting for the
 * rate limit until when) and a last line with the count; returns whether there was any.
 */
function reportUnfinished(sources: SourceView[], now: number, waited: boolean): boolean {
  const unfinished = sources.filter((s) => s.state !== 'synced');
  for (const s of unfinished) {
    const hint = s.state === 'waiting' && !waited ? '; run with --wait to wait for the reset' : '';
    process.stderr.write(`krt: ${streamLabel(s)}: ${describeStream(s, now)}${hint}\n`);
  }
  if (unfinished.length) {
    process.stderr.write(`krt: ${unfinished.length} of ${sources.length} streams did not finish; the key results reading them lack data (exit 2)\n`);
  }
  return unfinished.length > 0;
}

/** A Redis connection for a one-shot command, or an error within seconds saying none answers. */
async function redisForCommand(url: string) {
  const redis = connectStoreRedis(url, { commandTimeout: 30_000 });
  redis.on('error', () => {});
  await redis.connect().catch(() => undefined);
  if (!(await whenReady(redis, 3_000))) {
    redis.disconnect();
    throw new Error(`no Redis answers at ${url.replace(/\/\/[^@/]*@/, '//')}; start one, or pass --redis-url (env REDIS_URL)`);
  }
  return redis;
}

/** Resolves when SIGTERM or SIGINT arrives. */
const untilSignal = () =>
  new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

export function buildProgram(): Command {
  const program = new Command('krt')
    .description('kr-tracker: engineering OKRs measured from GitHub, CI, PagerDuty and Prometheus')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });

  program
    .name('krt')
    .version(packageVersion(), '-V, --version', 'print the version of kr-tracker');

  program
    .command('validate')
    .description('check an OKR file; exit 0 when valid, 1 with every problem listed (no secrets needed)')
    .argument('[file]', 'the OKR file (same as -c)')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .option('--require-env', 'an unset ${VAR} without a default is an error, not a warning (as for serve, worker, run)')
    .action(async (arg: string | undefined, o: { config: string; requireEnv?: boolean }) => {
      const file = arg ?? o.config;
      const { config, warnings } = await loadConfigWithWarnings(file, process.env, { allowUnset: !o.requireEnv });
      printUnset(warnings, true);
      const krs = config.objectives.reduce((n, c) => n + c.keyResults.length, 0);
      const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
      const unset = warnings.length ? `; ${count(warnings.length, 'unset environment variable')}` : '';
      console.log(`${file}: valid (${count(config.objectives.length, 'objective')}, ${count(krs, 'key result')}${unset})`);
    });

  program
    .command('lint')
    .description('OKR practice warnings (objectives per owner, outputs vs outcomes, targets, windows, routing); no secrets needed')
    .argument('[file]', 'the OKR file (same as -c)')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .option('--strict', 'exit 1 when there are warnings, not only problems')
    .option('--require-env', 'an unset ${VAR} without a default is an error, not a warning')
    .option('--checkins', 'also warn about objectives without a check-in for longer than checkins.every (reads Redis)')
    .option('--redis-url <url>', 'Redis, with --checkins (env REDIS_URL)', process.env.REDIS_URL ?? DEFAULT_REDIS_URL)
    .option('--prefix <prefix>', 'prefix of every Redis key, with --checkins (env KRT_PREFIX)', process.env.KRT_PREFIX ?? 'krt')
    .action(async (arg: string | undefined, o: { config: string; strict?: boolean; requireEnv?: boolean; checkins?: boolean; redisUrl: string; prefix: string }) => {
      const file = arg ?? o.config;
      let lastCheckins: Map<string, number> | undefined;
      if (o.checkins) {
        const { config } = await loadConfigWithWarnings(file, process.env, { allowUnset: true });
        const redis = await redisForCommand(o.redisUrl);
        try {
          const { createCheckinStore } = await import('../checkins/checkin-store.js');
          const latest = await createCheckinStore({ redis, prefix: o.prefix }).latest(config.objectives.map((ob) => ob.id));
          lastCheckins = new Map([...latest].map(([id, c]) => [id, c.at]));
        } finally {
          redis.disconnect();
        }
      }
      const { problems, warnings, unset } = await lintConfigFile(file, process.env, { allowUnset: !o.requireEnv }, { lastCheckins });
      if (problems.length) throw new ConfigError(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map(formatProblem));
      // Unset variables are about the environment, not OKR practice: they do not fail --strict.
      printUnset(unset, true);
      for (const w of warnings) console.log(formatWarning(w));
      console.log(`${file}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`);
      if (o.strict && warnings.length) process.exitCode = 1;
    });

  program
    .command('run')
    .description('sync every source, evaluate every key result once, print and exit (no Redis)')
    .requiredOption('--once', 'run once and exit (the only mode of `run`; `krt serve` runs continuously)')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .option('--at <iso>', 'evaluate at this instant instead of now', parseInstant)
    .option('--json', 'print JSON: objectives with their key results, and the sources')
    .option('--wait', 'when a source rate-limits, wait for its reset and sync again (default: report it and exit 2)')
    .action(async (o: { config: string; at?: number; json?: boolean; wait?: boolean }) => {
      const config = await loadConfig(o.config);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const store = new MemoryStore();
      const now = Date.now;
      const connectors = createConnectors({ config, store, logger, now, at: o.at, ...ONE_SHOT });
      const onWait = (s: { source: string; stream: string; key: string }, until: number) =>
        process.stderr.write(`krt: ${streamLabel(s)}: waiting for the rate limit until ${clockTime(new Date(until).toISOString(), now())} (--wait)\n`);
      await runOnce({ config, store, connectors, logger, at: o.at, now, waitForRateLimit: o.wait ?? false, onWait });
      const doc = objectivesDocument(config, await store.getResults(), now(), o.at ?? now());
      const sources = sourcesView(planStreams(config), await store.getSourceHealth());
      // What was computed goes to stdout either way; what did not sync is told on stderr and in the exit code.
      process.stdout.write(o.json ? JSON.stringify({ ...doc, sources }, null, 2) + '\n' : renderTable(doc.objectives, process.stdout.isTTY));
      if (reportUnfinished(sources, now(), o.wait ?? false)) process.exitCode = 2;
    });

  program
    .command('explain')
    .description('the inputs behind one value: the deployments, changes, incidents or runs that entered it (no Redis)')
    .argument('<objective/kr>', 'the key result, e.g. cicd/change-failure-rate')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .option('--at <iso>', 'explain the value at this instant instead of now', parseInstant)
    .option('--json', 'print the JSON (docs/explain.md) instead of tables')
    .option('--url <url>', 'ask a running service instead of syncing here (env KRT_EXPLAIN_URL)', process.env.KRT_EXPLAIN_URL)
    .option('--wait', 'when a source rate-limits, wait for its reset and sync again')
    .action(async (ref: string, o: { config: string; at?: number; json?: boolean; url?: string; wait?: boolean }) => {
      const { explainKeyResult, findKeyResult } = await import('../engine/explain.js');
      const { renderExplanation } = await import('./explain-text.js');
      const { metricOf } = await import('../metrics/catalogue/index.js');
      // The unit the value is printed in; a metric this version does not know (--url): a bare number.
      const unitOfMetric = (m: string) => {
        try {
          return metricOf(m as Parameters<typeof metricOf>[0]).unit ?? '';
        } catch {
          return '';
        }
      };
      let e: import('../engine/explain.js').Explanation;
      let unfinished = false;
      if (o.url) {
        const slash = ref.indexOf('/');
        if (slash < 0) throw new ConfigError(`"${ref}" is not OBJECTIVE/KR; write e.g. cicd/change-failure-rate`);
        const url = `${o.url.replace(/\/$/, '')}/api/v1/key-results/${encodeURIComponent(ref.slice(0, slash))}/${encodeURIComponent(ref.slice(slash + 1))}/explain${o.at === undefined ? '' : `?at=${encodeURIComponent(new Date(o.at).toISOString())}`}`;
        const token = process.env.KRT_API_TOKEN;
        const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {}).catch((err: unknown) => {
          throw new Error(`no kr-tracker service answers at ${o.url} (${err instanceof Error ? err.cause ?? err.message : String(err)}); start one with \`krt serve\`, or leave out --url to sync here`);
        });
        if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).trim()}`);
        e = (await res.json()) as typeof e;
      } else {
        const config = await loadConfig(o.config);
        const { objective, kr } = findKeyResult(config, ref);
        const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
        const store = new MemoryStore();
        const now = Date.now;
        // Only this key result's streams are synced.
        const one = { ...config, objectives: [{ ...objective, keyResults: [kr] }] };
        const connectors = createConnectors({ config: one, store, logger, now, at: o.at, ...ONE_SHOT });
        await runOnce({ config: one, store, connectors, logger, at: o.at, now, waitForRateLimit: o.wait ?? false });
        e = await explainKeyResult(objective, kr, { store, at: o.at ?? now(), live: connectors.live });
        unfinished = reportUnfinished(sourcesView(planStreams(one), await store.getSourceHealth()), now(), o.wait ?? false);
      }
      process.stdout.write(o.json ? JSON.stringify(e, null, 2) + '\n' : renderExplanation(e, unitOfMetric(e.metric)));
      if (unfinished) process.exitCode = 2;
    });

  const serviceOptions = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
      .option('--redis-url <url>', 'Redis (env REDIS_URL)', process.env.REDIS_URL ?? DEFAULT_REDIS_URL)
      .option('--redis-cluster <nodes>', 'a Redis Cluster instead: host:port,host:port,... (env KRT_REDIS_CLUSTER; docs/redis-cluster.md)', process.env.KRT_REDIS_CLUSTER)
      .option('--prefix <prefix>', 'prefix of every Redis key (env KRT_PREFIX)', process.env.KRT_PREFIX ?? 'krt')
      .option('--concurrency <n>', 'jobs per queue run at once by this process', (v) => Number(v), 4);

  const runService = async (role: 'serve' | 'worker', o: { config: string; redisUrl: string; redisCluster?: string; prefix: string; concurrency: number; host?: string; port?: number }) => {
    const where = describeRedisTarget(redisTarget(o.redisUrl, o.redisCluster));
    const logger = createLogger();
    const service = await startService({
      role,
      configFile: o.config,
      redisUrl: o.redisUrl,
      redisCluster: o.redisCluster,
      prefix: o.prefix,
      host: o.host,
      port: o.port,
      concurrency: o.concurrency,
      logger,
      // Workers follow the file too, so that none evaluates a key result the file no longer has.
      watchConfig: true,
      grafanaUrl: process.env.GRAFANA_URL,
      serviceUrl: process.env.KRT_URL,
    });
    // One line that says what this process is: enough to tell the processes of a deployment apart.
    const queues = [SYNC_QUEUE, EVALUATE_QUEUE, ALERTS_QUEUE];
    logger.info(
      { role, pid: process.pid, version: packageVersion(), redis: where, prefix: o.prefix, queues, concurrency: o.concurrency, config: o.config, url: service.url ?? undefined },
      `krt ${role} started: ${role === 'serve' ? `schedulers, workers and HTTP at ${service.url}` : 'workers'} on ${where} (queues ${queues.join(', ')}, prefix ${o.prefix}), config ${o.config}`,
    );
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping: letting in-flight jobs finish');
    // While the connections close, a command still on its way may fail with "Connection is closed":
    // expected now, so it is logged instead of ending the process with an unhandled rejection.
    process.on('unhandledRejection', (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'late error while stopping'));
    await service.stop();
    logger.info('stopped');
    // pino writes asynchronously; leave once it has flushed.
    logger.flush(() => process.exit(0));
  };

  serviceOptions(program.command('serve'))
    .description('the long-running service: schedulers, workers and the HTTP exporter (Redis)')
    .option('--host <host>', 'address to listen on (default: server.listen of the OKR file, else 127.0.0.1; 0.0.0.0 for every interface)')
    .option('--port <port>', 'port of /metrics, /healthz, /readyz, /api/v1/objectives (default: server.listen, else 9464)', parsePort)
    .action(async (o) => runService('serve', o));

  serviceOptions(program.command('worker'))
    .description('workers only, to scale out on more processes or machines (Redis)')
    .action(async (o) => runService('worker', o));

  program
    .command('dashboards')
    .description('write the Grafana dashboards for the OKR file')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .requiredOption('--out <dir>', 'directory to write the dashboard JSON files to')
    .action(async (o: { config: string; out: string }) => {
      // Dashboards need no secrets: unset `${VAR}`s get a placeholder (defaults still apply).
      const { config } = await loadConfigWithWarnings(o.config, process.env, { allowUnset: true });
      await mkdir(o.out, { recursive: true });
      // Loaded on demand: the Grafana SDK is large and only this command needs it.
      const { generateDashboards } = await import('../../dashboards/generate.js');
      const files = generateDashboards(config);
      // Dashboards of objectives that left the file go too, so provisioning drops them.
      for (const f of await readdir(o.out)) {
        if (f.endsWith('.json') && !files.some((d) => d.file === f)) await rm(join(o.out, f));
      }
      for (const d of files) await writeFile(join(o.out, d.file), d.json);
      console.log(`wrote ${files.length} dashboards to ${o.out}`);
    });

  program
    .command('rules')
    .description('write the Prometheus alerting rules for the OKR file (promtool check rules clean)')
    .option('-c, --config <file>', CONFIG_HELP, DEFAULT_CONFIG)
    .requiredOption('--out <file>', 'the rules file to write, e.g. config/prometheus/rules/okr-alerts.yml')
    .option('--at-risk-for <duration>', 'how long at_risk before OKRKeyResultAtRisk fires', '1h')
    .option('--off-track-for <duration>', 'how long off_track before OKRKeyResultOffTrack fires', '30m')
    .option('--no-data-for <duration>', 'how long without a value before OKRKeyResultNoData fires', '1h')
    .option('--source-down-for <duration>', 'how long a source fails before KrtSourceSyncFailing fires', '30m')
    .option('--grafana-url <url>', 'Grafana base URL for dashboard links', process.env.GRAFANA_URL ?? 'http://localhost:3000')
    .action(async (o: { config: string; out: string; atRiskFor: string; offTrackFor: string; noDataFor: string; sourceDownFor: string; grafanaUrl: string }) => {
      const { config } = await loadConfigWithWarnings(o.config, process.env, { allowUnset: true });
      // Loaded on demand: the rules link to dashboards, whose module pulls in the Grafana SDK.
      const { writeAlertRules } = await import('../exporters/rules.js');
      await writeAlertRules(config, o.out, {
        atRiskFor: o.atRiskFor,
        offTrackFor: o.offTrackFor,
        noDataFor: o.noDataFor,
        sourceDownFor: o.sourceDownFor,
        grafanaUrl: o.grafanaUrl,
      });
      console.log(`wrote alerting rules to ${o.out}`);
    });

  const alerts = program.command('alerts').description('drift alerts to managers (Slack, e-mail, PagerDuty, webhook)');
  serviceOptions(alerts.command('test'))
    .description('send a test message to a channel of alerts.channels and print what the receiver answered')
    .argument('<channel>', 'the channel name, e.g. platform-leads')
    .action(async (channel: string, o: { config: string; redisUrl: string; redisCluster?: string; prefix: string }) => {
      // Only the tested channel's settings must be set: testing Slack needs no GitHub token.
      const { config, warnings } = await loadConfigWithWarnings(o.config, process.env, { allowUnset: true });
      const needed = channelSettingsPaths(channel, config.alerts.channels[channel]?.type);
      const missing = warnings.filter((w) => needed.some((p) => w.path === p || w.path.startsWith(`${p}.`)));
      if (missing.length) {
        throw new ConfigError(`${o.config}: channel ${channel} needs ${missing.length === 1 ? 'a variable that is' : 'variables that are'} not set`, missing.map(formatProblem));
      }
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const target = redisTarget(o.redisUrl, o.redisCluster);
      const redis = 'url' in target ? connectRedis(target.url) : connectStoreTarget(target);
      redis.on('error', () => {});
      if (!('url' in target)) redis.connect().catch(() => undefined);
      const bull = bullConnection(target);
      const { createAlerting } = await import('../alerts/index.js');
      const alerting = createAlerting({
        connection: bull.connection,
        prefix: o.prefix,
        queuePrefix: bullPrefix(o.prefix, target),
        redis,
        config: () => config,
        logger,
        now: Date.now,
        smtp: config.alerts.smtp,
        pagerDutyEventsUrl: config.alerts.pagerDutyEventsUrl,
        settings: () => config.alerts.settings,
      });
      try {
        const reply = await alerting.sendTest(channel);
        console.log(`${channel}: ${reply.ok ? 'delivered' : 'refused'} (${reply.status}) ${reply.body}`.trim());
        if (!reply.ok) process.exitCode = 1;
      } finally {
        await alerting.close();
        bull.close();
        redis.disconnect();
      }
    });

  program
    .command('demo')
    .description('simulated GitHub with months of deployments and the service against it; no tokens')
    // The simulators (datasets, graphql) load only here and in `sim`, not for every command.
    .option('-c, --config <file>', 'the OKR file to run against the simulated sources (default: the bundled config/okrs.example.yaml)')
    .option('--port <port>', 'port of the service', parsePort, 9464)
    .option('--exit-after-first', 'print the first evaluation and exit (for tests)')
    .action(async (o: { config?: string; port: number; exitAfterFirst?: boolean }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({ port: o.port, exitAfterFirst: o.exitAfterFirst ?? false, configFile: o.config });
    });

  serviceOptions(program.command('backfill'))
    .description("compute each key result's daily values from the collected events, so history starts on day one")
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD)', parseDay)
    .option('--to <date>', 'last day (YYYY-MM-DD; default today)', parseDay)
    .option('--no-sync', 'use only the events already in Redis (default: sync every source first)')
    .action(async (o: { config: string; redisUrl: string; redisCluster?: string; prefix: string; from: string; to?: string; sync: boolean }) => {
      if (o.to !== undefined && o.to < o.from) throw new ConfigError(`--from ${o.from} is after --to ${o.to}; give the first day first`);
      const config = await loadConfig(o.config);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      // Fail fast: without Redis, say so within seconds instead of waiting for it forever.
      const target = redisTarget(o.redisUrl, o.redisCluster);
      const redis = connectStoreTarget(target, { commandTimeout: 30_000 });
      redis.on('error', () => {});
      await redis.connect().catch(() => undefined);
      if (!(await whenReady(redis, 3_000))) {
        redis.disconnect();
        throw new Error(`no Redis answers at ${describeRedisTarget(target)}; start one, or pass --redis-url (env REDIS_URL) or --redis-cluster (env KRT_REDIS_CLUSTER)`);
      }
      try {
        // The change counter tells a running `krt serve` to show the backfilled results.
        const changes = redisChanges(redis, o.prefix);
        const store = markingStore(new RedisStore({ redis, prefix: o.prefix, logger }), changes);
        await store.migrateLayout();
        const now = Date.now;
        const to = o.to ?? new Date(now()).toISOString().slice(0, 10);
        const connectors = createConnectors({ config, store, logger, now, coverageDays: { from: o.from, to } });
        if (o.sync) {
          for (const stream of planStreams(config)) await runSync(stream, { connectors, store, logger, now }).catch(() => undefined);
        }
        const bar = progressBar(process.stderr);
        const report = await backfill({ config, store, from: o.from, to, now, live: connectors.live, onProgress: bar });
        console.log(
          `backfilled ${report.days} days (${o.from}..${to}), ${report.points} values` + (report.resumedAt ? `; resumed after day ${report.resumedAt}` : ''),
        );
        await changes.flushed();
      } finally {
        redis.disconnect();
      }
    });

  serviceOptions(program.command('checkin'))
    .description("record a person's check-in on an objective: a confidence 0..1 and a note (Redis)")
    .argument('<objective>', 'the objective id, e.g. cicd')
    .requiredOption('--confidence <0..1>', 'how sure you are that the objective will be met, from 0 to 1')
    .option('--note <text>', 'what happened, what is in the way (at most 2,000 characters)')
    .option('--by <name>', 'who checks in (default: the user name)')
    .option('--revise <note>', 'why the OKR file changed a target, baseline, kind or period; kept with the revision')
    .action(async (objective: string, o: { config: string; redisUrl: string; prefix: string; confidence: string; note?: string; by?: string; revise?: string }) => {
      const { config } = await loadConfigWithWarnings(o.config, process.env, { allowUnset: true });
      const { parseCheckin, CheckinError, findObjective } = await import('../checkins/checkin.js');
      let checkin;
      try {
        checkin = parseCheckin(objective, { confidence: o.confidence, note: o.note, by: o.by ?? (process.env.USER || undefined), revise: o.revise }, Date.now(), config);
      } catch (err) {
        if (err instanceof CheckinError) throw new ConfigError(`krt checkin: nothing stored`, err.problems.map((p) => `${p.field === 'objective' ? 'OBJECTIVE' : `--${p.field}`} ${p.message}`));
        throw err;
      }
      const redis = await redisForCommand(o.redisUrl);
      try {
        const { createCheckinStore } = await import('../checkins/checkin-store.js');
        await createCheckinStore({ redis, prefix: o.prefix }).add(checkin, findObjective(config, objective).keyResults.map((kr) => kr.id));
        console.log(`checked in on ${objective}: confidence ${checkin.confidence} by ${checkin.by} at ${new Date(checkin.at).toISOString()}`);
      } finally {
        redis.disconnect();
      }
    });

  serviceOptions(program.command('report'))
    .description("the period's close-out: every objective and KR with score, trajectory chart, check-ins and revisions (Redis)")
    .option('--period <start..end>', 'the days covered, e.g. 2026-10-01..2026-12-31 (default: the objectives\' periods)')
    .option('--out <file>', 'write the report here (default: stdout)')
    .option('--format <format>', 'html (one self-contained page), markdown (for wikis) or json', 'html')
    .action(async (o: { config: string; redisUrl: string; prefix: string; period?: string; out?: string; format: string }) => {
      if (!['html', 'markdown', 'json'].includes(o.format)) throw new ConfigError(`--format ${o.format} is not a report format; use html, markdown or json`);
      const { buildReport, parsePeriod } = await import('../report/model.js');
      const period = o.period === undefined ? undefined : parsePeriod(o.period);
      if (typeof period === 'string') throw new ConfigError(`--period ${period}`);
      const config = await loadConfig(o.config);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const redis = await redisForCommand(o.redisUrl);
      try {
        const store = new RedisStore({ redis, prefix: o.prefix });
        const { createCheckinStore } = await import('../checkins/checkin-store.js');
        // Connectors only for what is asked at evaluation time (PromQL); nothing is synced here.
        const live = createConnectors({ config, store, logger, now: Date.now, ...ONE_SHOT }).live;
        const model = await buildReport({ config, store, checkins: createCheckinStore({ redis, prefix: o.prefix }), period, now: Date.now, live });
        let text: string;
        if (o.format === 'json') text = JSON.stringify(model, null, 2) + '\n';
        else if (o.format === 'markdown') text = (await import('../report/markdown.js')).renderMarkdown(model);
        else text = (await import('../report/html.js')).renderHtml(model);
        if (o.out) {
          await writeFile(o.out, text);
          console.log(`wrote the ${o.format} report of ${model.period.from}..${model.period.to} (${model.objectives.length} objectives) to ${o.out}`);
        } else process.stdout.write(text);
      } finally {
        redis.disconnect();
      }
    });

  program
    .command('status')
    .description('objectives and key results as a table with progress bars, from the running service or --once')
    .option('--url <url>', 'the service (env KRT_URL)', process.env.KRT_URL ?? 'http://127.0.0.1:9464')
    .option('--once', 'evaluate in-process instead of asking the service (no Redis)')
    .option('-c, --config <file>', `${CONFIG_HELP}; read with --once`, DEFAULT_CONFIG)
    .option('--json', 'print the JSON instead of the table')
    .option('--tree', 'the objectives as their alignment tree (parent links), each with its rolled-up progress')
    .action(async (o: { url: string; once?: boolean; config: string; json?: boolean; tree?: boolean }) => {
      let doc: ObjectivesDocument;
      let sources: SourceView[] | null = null;
      const checkins: string[] = [];
      if (o.once) {
        const config = await loadConfig(o.config);
        const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
        const store = new MemoryStore();
        await runOnce({ config, store, connectors: createConnectors({ config, store, logger, now: Date.now, ...ONE_SHOT }), logger, now: Date.now });
        doc = objectivesDocument(config, await store.getResults(), Date.now());
        sources = sourcesView(planStreams(config), await store.getSourceHealth());
      } else {
        const url = `${o.url.replace(/\/$/, '')}/api/v1/objectives`;
        // A service with server.auth asks for its token (KRT_API_TOKEN, as `krt explain --url` sends it).
        const token = process.env.KRT_API_TOKEN;
        const init = token ? { headers: { authorization: `Bearer ${token}` } } : {};
        const res = await fetch(url, init).catch((err: unknown) => {
          throw new Error(`no kr-tracker service answers at ${o.url} (${err instanceof Error ? err.cause ?? err.message : String(err)}); start one with \`krt serve\`, pass --url, or use --once`);
        });
        if (res.status === 401) throw new Error(`${url} asks for credentials (server.auth); set KRT_API_TOKEN to the service's bearer token`);
        if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).trim()}`);
        doc = (await res.json()) as ObjectivesDocument;
        // A service from before /api/v1/sources answers 404: the key results are shown without it.
        const s = await fetch(`${o.url.replace(/\/$/, '')}/api/v1/sources`, init).catch(() => null);
        if (s?.ok) sources = (await s.json()) as SourceView[];
        // The latest check-in of each objective (a service from before check-ins answers 404: none shown).
        for (const ob of doc.objectives) {
          const c = await fetch(`${o.url.replace(/\/$/, '')}/api/v1/objectives/${encodeURIComponent(ob.id)}/checkins`, init).catch(() => null);
          const latest = c?.ok ? ((await c.json()) as { checkins: { confidence: number; note: string; by: string; at: string }[] }).checkins[0] : undefined;
          if (latest) checkins.push(`  ${ob.id}: confidence ${latest.confidence} by ${latest.by} on ${latest.at.slice(0, 10)}${latest.note ? `: ${latest.note.replace(/\s+/g, ' ').slice(0, 100)}` : ''}`);
        }
      }
      const tty = process.stdout.isTTY;
      const checkinLines = checkins.length ? `\nlatest check-ins:\n${checkins.join('\n')}\n` : '';
      const render = o.tree ? renderTree : renderTable;
      process.stdout.write(o.json ? JSON.stringify(doc, null, 2) + '\n' : render(doc.objectives, tty) + checkinLines + (sources?.length ? '\n' + renderSources(sources, Date.now(), tty) : ''));
    });

  program
    .command('sim')
    .description('serve a simulated source that speaks its real REST API (for demos and tests)')
    .argument('<source>', 'github or pagerduty')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--token <token>', 'the token clients must send (env SIM_TOKEN)', process.env.SIM_TOKEN ?? 'demo-token')
    .option('--days <n>', 'days of history to generate, ending now', (v) => Number(v), 180)
    .option('-c, --config <file>', 'simulate the repositories and PagerDuty services this OKR file reads (default: acme/payments, acme/checkout, PXXXXXX)')
    .action(async (source: string, o: { port: number; host: string; token: string; days: number; config?: string }) => {
      const now = Date.now();
      let repos = ['acme/payments', 'acme/checkout'];
      let services = ['PXXXXXX'];
      if (o.config) {
        const { config } = await loadConfigWithWarnings(o.config, process.env, { allowUnset: true });
        const krs = config.objectives.flatMap((ob) => ob.keyResults);
        const named = (list: string[]) => [...new Set(list)];
        if (krs.some((kr) => kr.repos.length)) repos = named(krs.flatMap((kr) => kr.repos));
        if (krs.some((kr) => kr.services.length)) services = named(krs.flatMap((kr) => kr.services));
      }
      const from = new Date(now - o.days * 86_400_000);
      let sim: { url: string; close(): Promise<void> };
      if (source === 'github') {
        const [{ generateGithubDataset }, { startGithubSimulator }, { DEMO_RATE_SCALE }] = await Promise.all([
          import('../../connectors/github/sim/dataset.js'),
          import('../../connectors/github/sim/server.js'),
          import('./demo.js'),
        ]);
        const dataset = generateGithubDataset({ seed: 42, repos, from, to: new Date(now), rateScale: DEMO_RATE_SCALE });
        sim = await startGithubSimulator({ dataset, token: o.token, port: o.port, host: o.host });
      } else if (source === 'pagerduty') {
        const [{ generatePagerDutyDataset }, { startPagerDutySimulator }] = await Promise.all([
          import('../../connectors/pagerduty/sim/dataset.js'),
          import('../../connectors/pagerduty/sim/server.js'),
        ]);
        const dataset = generatePagerDutyDataset({ seed: 42, services, from, to: new Date(now) });
        sim = await startPagerDutySimulator({ dataset, token: o.token, port: o.port, host: o.host });
      } else {
        throw new InvalidArgumentError(`no simulator for "${source}"; available: github, pagerduty`);
      }
      console.log(`simulated ${source} at ${sim.url} (token: ${o.token}); Ctrl-C to stop`);
      await untilSignal();
      await sim.close();
    });

  return program;
}

/** The settings `krt alerts test CHANNEL` needs set: the channel's own, and the server of its type. */
function channelSettingsPaths(channel: string, type: string | undefined): string[] {
  const paths = [formatPath(['alerts', 'channels', channel])];
  if (type === 'email') paths.push('alerts.smtp');
  if (type === 'pagerduty') paths.push('alerts.pagerdutyEventsUrl');
  return paths;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    console.error(`krt: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
