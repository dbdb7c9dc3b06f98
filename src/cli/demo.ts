// `npm run demo`: a simulated GitHub with months of deployments, and the service against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateGithubDataset } from '../../connectors/github/sim/dataset.js';
import { startGithubSimulator } from '../../connectors/github/sim/server.js';
import { generatePagerDutyDataset } from '../../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../../connectors/pagerduty/sim/server.js';
import { startPrometheusWithHistory } from '../../connectors/prometheus/sim/server.js';
import { loadConfig } from '../config/load.js';
import { startEmbedded } from '../embedded.js';
import type { ObjectivesDocument, ObjectiveView } from '../exporters/objectives-view.js';
import { createLogger, heldLogDestination } from '../lib/logger.js';
import { connectRedis, DEFAULT_REDIS_URL, redisAnswers } from '../lib/redis.js';
import { startService, type RunningService } from '../service.js';
import { renderTable } from './table.js';
import { freePort } from '../lib/net.js';

/** The example OKR file of the package (the demo's default). */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../config/okrs.example.yaml', import.meta.url));
const DEMO_TOKEN = 'demo-token';
const PREFIX = 'krt-demo';
/** Deployment rates of the demo's simulated GitHub (see generateGithubDataset's rateScale). */
export const DEMO_RATE_SCALE = 0.3;


/** Starts `redis-server` from PATH on a free port; null when there is none. */
async function startRedisServer(): Promise<{ url: string; child: ChildProcess } | null> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  if (!spawned) return null;
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url, 200)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  return null;
}

/** Deletes the demo's own keys (prefix krt-demo) so that each demo starts from nothing. */
async function clearDemoKeys(url: string): Promise<void> {
  const redis = connectRedis(url);
  try {
    for (const pattern of [`${PREFIX}:*`, `${PREFIX}-bull:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

async function waitForEvaluations(url: string, timeoutMs: number, graceMs = 15_000): Promise<ObjectiveView[]> {
  const deadline = Date.now() + timeoutMs;
  let settledAt: number | null = null;
  let view: ObjectiveView[] = [];
  while (Date.now() < deadline) {
    view = ((await (await fetch(`${url}/api/v1/objectives`)).json()) as ObjectivesDocument).objectives;
    // Settled when every key result has been evaluated with its sources synced at least once.
    const settled = (kr: ObjectiveView['keyResults'][number]) => kr.evaluatedAt !== null && !kr.error?.includes('has not synced yet');
    const krs = view.flatMap((o) => o.keyResults);
    if (krs.every(settled)) {
      // Derived streams (compares after deployments) arrive a little later: give the key results
      // still without a value a short while to get one, so the first table is a full one.
      settledAt ??= Date.now();
      if (krs.every((kr) => kr.value !== null) || Date.now() - settledAt > graceMs) return view;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return view;
}

/** P99 of payments falling from 0.5 s at the quarter's start towards 0.35 s at its end. */
async function startDemoPrometheus(now: number) {
  const start = Date.parse('2026-10-01T00:00:00Z');
  const end = Date.parse('2027-01-01T00:00:00Z');
  const p99 = (t: number) => 0.5 - 0.15 * Math.min(1, Math.max(0, (t - start) / (end - start)));
  const from = Math.floor(now / 1000) * 1000 - 14 * 86_400_000;
  // Samples run two days past now, so the query keeps answering while the demo runs.
  const to = Math.floor(now / 1000) * 1000 + 2 * 86_400_000;
  return startPrometheusWithHistory({
    series: [{ labels: { service: 'payments' }, requestsPerSecond: 40, quantileAt: { from: p99(from) * 1.04, to: p99(to) * 1.04 } }],
    from,
    to,
    stepSeconds: 120,
  });
}

export async function runDemo(opts: { port: number; exitAfterFirst: boolean; configFile?: string }): Promise<void> {
  const configFile = opts.configFile ?? EXAMPLE_CONFIG;
  // Log lines wait until the table is printed and then come under it, one line each.
  const logs = heldLogDestination();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', logs);
  const now = Date.now();
  const dataset = generateGithubDataset({
    seed: 42,
    repos: ['acme/payments', 'acme/checkout'],
    from: new Date(now - 180 * 86_400_000),
    to: new Date(now),
    rateScale: DEMO_RATE_SCALE,
  });
  const sim = await startGithubSimulator({ dataset, token: DEMO_TOKEN });
  const pagerduty = await startPagerDutySimulator({
    dataset: generatePagerDutyDataset({ seed: 42, services: ['PXXXXXX'], from: new Date(now - 180 * 86_400_000), to: new Date(now) }),
    token: DEMO_TOKEN,
  });
  // The example config reads its sources and secrets from the environment; the demo fills them in.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GITHUB_TOKEN: DEMO_TOKEN,
    GITHUB_API_URL: sim.url,
    PAGERDUTY_TOKEN: DEMO_TOKEN,
    PAGERDUTY_API_URL: pagerduty.url,
    SLACK_WEBHOOK_URL: process.env.SLACK_WEBHOOK_URL ?? 'http://127.0.0.1:9/slack-demo',
    PD_ROUTING_KEY: process.env.PD_ROUTING_KEY ?? 'demo-routing-key',
    HOOK_SECRET: process.env.HOOK_SECRET ?? 'demo-hook-secret',
  };

  // A real Prometheus with two weeks of payments latency histograms, when Debian's prometheus and
  // promtool are installed; the P99 key result reads it with the example's own PromQL.
  const prometheus = await startDemoPrometheus(now).catch((err: unknown) => {
    logger.warn({ err: String(err) }, 'no Prometheus for the demo');
    return null;
  });
  if (prometheus) env.PROMETHEUS_URL = prometheus.url;

  let redisUrl: string | null = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  let mode = `Redis at ${redisUrl}`;
  let ownRedis: ChildProcess | null = null;
  if (!(await redisAnswers(redisUrl))) {
    const started = await startRedisServer();
    if (started) {
      redisUrl = started.url;
      ownRedis = started.child;
      mode = `no Redis answered at ${process.env.REDIS_URL ?? DEFAULT_REDIS_URL}; started redis-server on ${redisUrl}`;
    } else {
      redisUrl = null;
      mode = 'no Redis answered and no redis-server on PATH: running the EMBEDDED in-process mode (memory store, no BullMQ)';
    }
  }

  let service: RunningService;
  try {
    if (redisUrl) {
      await clearDemoKeys(redisUrl);
      service = await startService({ role: 'serve', configFile, redisUrl, prefix: PREFIX, port: opts.port, logger, env });
    } else {
      service = await startEmbedded({ config: await loadConfig(configFile, env), logger, port: opts.port }).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        throw code === 'EADDRINUSE' ? new Error(`port ${opts.port} is already in use; stop what listens there, or pass another --port`) : err;
      });
    }
  } catch (err) {
    // Nothing keeps running after a failed start (a busy port): the simulators go too.
    await Promise.allSettled([sim.close(), pagerduty.close(), prometheus?.stop()]);
    ownRedis?.kill();
    throw err;
  }
  const url = service.url as string;
  const view = await waitForEvaluations(url, 60_000);
  const out = [
    'kr-tracker demo',
    `  mode:      ${mode}`,
    `  GitHub:    simulated at ${sim.url} (acme/payments, acme/checkout; 180 days of deployments)`,
    `  PagerDuty: simulated at ${pagerduty.url} (service PXXXXXX; 180 days of incidents)`,
    prometheus
      ? `  Prometheus: ${prometheus.url} (two weeks of payments latency histograms)`
      : '  Prometheus: not started (install Debian\'s prometheus package for the P99 key result)',
    `  config:    ${configFile}`,
    '',
    'Open:',
    `  ${url}/metrics              Prometheus metrics (okr_key_result_*, krt_source_*)`,
    `  ${url}/api/v1/objectives    objectives and key results as JSON`,
    `  docker compose up           Prometheus + Grafana with the dashboards of dashboards/generated`,
    '',
    renderTable(view, process.stdout.isTTY),
  ];
  process.stdout.write(out.join('\n'));
  const held = logs.release();
  if (held.length) process.stdout.write(`\nWhile starting (${held.length} log line${held.length === 1 ? '' : 's'}; LOG_LEVEL=warn):\n${held.map((l) => `  ${l}`).join('\n')}\n`);
  const stop = async () => {
    await service.stop();
    await sim.close();
    await pagerduty.close();
    await prometheus?.stop();
    ownRedis?.kill();
  };
  if (opts.exitAfterFirst) {
    await stop();
    return;
  }
  process.stdout.write('Ctrl-C to stop.\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stop();
}
