// `krt`: the command line of ../shared/CONFIG.md. One top-level catch turns errors into a message
// and an exit code: 1 for bad input (the message says where and how to fix it), 2 otherwise.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { generateGithubDataset } from '../../connectors/github/sim/dataset.js';
import { startGithubSimulator } from '../../connectors/github/sim/server.js';
import { generatePagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../../connectors/pagerduty/sim/server.js';
import { formatProblem, loadConfig } from '../config/load.js';
import { formatWarning, lintConfigFile } from '../config/lint.js';
import { runOnce } from '../engine/run-once.js';
import { objectivesView, type ObjectiveView } from '../exporters/objectives-view.js';
import { sourcesView, type SourceView } from '../exporters/sources-view.js';
import { backfill } from '../engine/backfill.js';
import { RedisStore } from '../store/redis-store.js';
import { planStreams } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { ConfigError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { connectRedis, connectStoreRedis, DEFAULT_REDIS_URL, redisOptions, whenReady } from '../lib/redis.js';
import { startService } from '../service.js';
import { MemoryStore } from '../store/memory-store.js';
import { createConnectors } from '../sync/connectors.js';
import { DEMO_RATE_SCALE, runDemo } from './demo.js';
import { clockTime, describeStream, progressBar, renderSources, renderTable, streamLabel } from './table.js';

const DEFAULT_CONFIG = process.env.KRT_CONFIG ?? 'config/okrs.yaml';

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
    .command('validate')
    .description('check an OKR file; exit 0 when valid, 1 with every problem listed')
    .argument('[file]', 'the OKR file', DEFAULT_CONFIG)
    .action(async (file: string) => {
      const config = await loadConfig(file);
      const krs = config.objectives.reduce((n, o) => n + o.keyResults.length, 0);
      console.log(`${file}: valid (${config.objectives.length} objectives, ${krs} key results)`);
    });

  program
    .command('lint')
    .description('OKR practice warnings (objectives per owner, outputs vs outcomes, targets, windows, routing)')
    .argument('[file]', 'the OKR file', DEFAULT_CONFIG)
    .option('--strict', 'exit 1 when there are warnings, not only problems')
    .action(async (file: string, o: { strict?: boolean }) => {
      const { problems, warnings } = await lintConfigFile(file);
      if (problems.length) throw new ConfigError(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map(formatProblem));
      for (const w of warnings) console.log(formatWarning(w));
      console.log(`${file}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`);
      if (o.strict && warnings.length) process.exitCode = 1;
    });

  program
    .command('run')
    .description('sync every source, evaluate every key result once, print and exit (no Redis)')
    .requiredOption('--once', 'run once and exit (the only mode of `run`; `krt serve` runs continuously)')
    .option('-c, --config <file>', 'the OKR file', DEFAULT_CONFIG)
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
      const view = objectivesView(config, await store.getResults(), now());
      const sources = sourcesView(planStreams(config), await store.getSourceHealth());
      // What was computed goes to stdout either way; what did not sync is told on stderr and in the exit code.
      process.stdout.write(
        o.json ? JSON.stringify({ at: new Date(o.at ?? now()).toISOString(), objectives: view, sources }, null, 2) + '\n' : renderTable(view, process.stdout.isTTY),
      );
      if (reportUnfinished(sources, now(), o.wait ?? false)) process.exitCode = 2;
    });

  const serviceOptions = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', 'the OKR file', DEFAULT_CONFIG)
      .option('--redis-url <url>', 'Redis (env REDIS_URL)', process.env.REDIS_URL ?? DEFAULT_REDIS_URL)
      .option('--prefix <prefix>', 'prefix of every Redis key (env KRT_PREFIX)', process.env.KRT_PREFIX ?? 'krt')
      .option('--concurrency <n>', 'jobs per queue run at once by this process', (v) => Number(v), 4);

  const runService = async (role: 'serve' | 'worker', o: { config: string; redisUrl: string; prefix: string; concurrency: number; host?: string; port?: number }) => {
    const logger = createLogger();
    const service = await startService({
      role,
      configFile: o.config,
      redisUrl: o.redisUrl,
      prefix: o.prefix,
      host: o.host,
      port: o.port,
      concurrency: o.concurrency,
      logger,
      // Workers follow the file too, so that none evaluates a key result the file no longer has.
      watchConfig: true,
      grafanaUrl: process.env.GRAFANA_URL,
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping: letting in-flight jobs finish');
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
    .option('-c, --config <file>', 'the OKR file', DEFAULT_CONFIG)
    .requiredOption('--out <dir>', 'directory to write the dashboard JSON files to')
    .action(async (o: { config: string; out: string }) => {
      // Dashboards need no secrets: unset `${VAR}`s get a placeholder (defaults still apply).
      const config = await loadConfig(o.config, process.env, { placeholder: 'http://placeholder.invalid' });
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
    .option('-c, --config <file>', 'the OKR file', DEFAULT_CONFIG)
    .requiredOption('--out <file>', 'the rules file to write, e.g. config/prometheus/rules/okr-alerts.yml')
    .option('--at-risk-for <duration>', 'how long at_risk before OKRKeyResultAtRisk fires', '1h')
    .option('--off-track-for <duration>', 'how long off_track before OKRKeyResultOffTrack fires', '30m')
    .option('--no-data-for <duration>', 'how long without a value before OKRKeyResultNoData fires', '1h')
    .option('--source-down-for <duration>', 'how long a source fails before KrtSourceSyncFailing fires', '30m')
    .option('--grafana-url <url>', 'Grafana base URL for dashboard links', process.env.GRAFANA_URL ?? 'http://localhost:3000')
    .action(async (o: { config: string; out: string; atRiskFor: string; offTrackFor: string; noDataFor: string; sourceDownFor: string; grafanaUrl: string }) => {
      const config = await loadConfig(o.config, process.env, { placeholder: 'http://placeholder.invalid' });
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
    .action(async (channel: string, o: { config: string; redisUrl: string; prefix: string }) => {
      const config = await loadConfig(o.config);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      const redis = connectRedis(o.redisUrl);
      redis.on('error', () => {});
      const { createAlerting } = await import('../alerts/index.js');
      const alerting = createAlerting({
        connection: redisOptions(o.redisUrl),
        prefix: o.prefix,
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
        redis.disconnect();
      }
    });

  program
    .command('demo')
    .description('simulated GitHub with months of deployments and the service against it; no tokens')
    .option('--port <port>', 'port of the service', parsePort, 9464)
    .option('--exit-after-first', 'print the first evaluation and exit (for tests)')
    .action(async (o: { port: number; exitAfterFirst?: boolean }) => runDemo({ port: o.port, exitAfterFirst: o.exitAfterFirst ?? false }));

  serviceOptions(program.command('backfill'))
    .description("compute each key result's daily values from the collected events, so history starts on day one")
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD)', parseDay)
    .option('--to <date>', 'last day (YYYY-MM-DD; default today)', parseDay)
    .option('--no-sync', 'use only the events already in Redis (default: sync every source first)')
    .action(async (o: { config: string; redisUrl: string; prefix: string; from: string; to?: string; sync: boolean }) => {
      if (o.to !== undefined && o.to < o.from) throw new ConfigError(`--from ${o.from} is after --to ${o.to}; give the first day first`);
      const config = await loadConfig(o.config);
      const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
      // Fail fast: without Redis, say so within seconds instead of waiting for it forever.
      const redis = connectStoreRedis(o.redisUrl, { commandTimeout: 30_000 });
      redis.on('error', () => {});
      await redis.connect().catch(() => undefined);
      if (!(await whenReady(redis, 3_000))) {
        redis.disconnect();
        throw new Error(`no Redis answers at ${o.redisUrl.replace(/\/\/[^@/]*@/, '//')}; start one, or pass --redis-url (env REDIS_URL)`);
      }
      try {
        const store = new RedisStore({ redis, prefix: o.prefix });
        const now = Date.now;
        const connectors = createConnectors({ config, store, logger, now });
        if (o.sync) {
          for (const stream of planStreams(config)) await runSync(stream, { connectors, store, logger, now }).catch(() => undefined);
        }
        const to = o.to ?? new Date(now()).toISOString().slice(0, 10);
        const bar = progressBar(process.stderr);
        const report = await backfill({ config, store, from: o.from, to, now, live: connectors.live, onProgress: bar });
        console.log(
          `backfilled ${report.days} days (${o.from}..${to}), ${report.points} values` + (report.resumedAt ? `; resumed after day ${report.resumedAt}` : ''),
        );
      } finally {
        redis.disconnect();
      }
    });

  program
    .command('status')
    .description('objectives and key results as a table with progress bars, from the running service or --once')
    .option('--url <url>', 'the service (env KRT_URL)', process.env.KRT_URL ?? 'http://127.0.0.1:9464')
    .option('--once', 'evaluate in-process instead of asking the service (no Redis)')
    .option('-c, --config <file>', 'the OKR file (with --once)', DEFAULT_CONFIG)
    .option('--json', 'print the JSON instead of the table')
    .action(async (o: { url: string; once?: boolean; config: string; json?: boolean }) => {
      let view: ObjectiveView[];
      let sources: SourceView[] | null = null;
      if (o.once) {
        const config = await loadConfig(o.config);
        const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
        const store = new MemoryStore();
        await runOnce({ config, store, connectors: createConnectors({ config, store, logger, now: Date.now, ...ONE_SHOT }), logger, now: Date.now });
        view = objectivesView(config, await store.getResults(), Date.now());
        sources = sourcesView(planStreams(config), await store.getSourceHealth());
      } else {
        const url = `${o.url.replace(/\/$/, '')}/api/v1/objectives`;
        const res = await fetch(url).catch((err: unknown) => {
          throw new Error(`no kr-tracker service answers at ${o.url} (${err instanceof Error ? err.cause ?? err.message : String(err)}); start one with \`krt serve\`, pass --url, or use --once`);
        });
        if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).trim()}`);
        view = (await res.json()) as ObjectiveView[];
        // A service from before /api/v1/sources answers 404: the key results are shown without it.
        const s = await fetch(`${o.url.replace(/\/$/, '')}/api/v1/sources`).catch(() => null);
        if (s?.ok) sources = (await s.json()) as SourceView[];
      }
      const tty = process.stdout.isTTY;
      process.stdout.write(o.json ? JSON.stringify(view, null, 2) + '\n' : renderTable(view, tty) + (sources?.length ? '\n' + renderSources(sources, Date.now(), tty) : ''));
    });

  program
    .command('sim')
    .description('serve a simulated source that speaks its real REST API (for demos and tests)')
    .argument('<source>', 'github or pagerduty')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--token <token>', 'the token clients must send (env SIM_TOKEN)', process.env.SIM_TOKEN ?? 'demo-token')
    .option('--days <n>', 'days of history to generate, ending now', (v) => Number(v), 180)
    .action(async (source: string, o: { port: number; host: string; token: string; days: number }) => {
      const now = Date.now();
      const from = new Date(now - o.days * 86_400_000);
      let sim: { url: string; close(): Promise<void> };
      if (source === 'github') {
        const dataset = generateGithubDataset({ seed: 42, repos: ['acme/payments', 'acme/checkout'], from, to: new Date(now), rateScale: DEMO_RATE_SCALE });
        sim = await startGithubSimulator({ dataset, token: o.token, port: o.port, host: o.host });
      } else if (source === 'pagerduty') {
        const dataset = generatePagerDutyDataset({ seed: 42, services: ['PXXXXXX'], from, to: new Date(now) });
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

const code = await main(process.argv);
if (code !== 0) {
  process.exitCode = code;
  // A failed start may leave handles behind (a connection retrying, a simulator): leave anyway.
  setTimeout(() => process.exit(code), 500).unref();
}
