// `npm run bench:sync-workers [-- --repos N --days D --concurrency C]`: how many GraphQL queries
// the deployment statuses of one day of new activity cost when `krt serve`'s BullMQ sync worker
// runs the streams (one process, C jobs at once), against the minimum of 1 point per 100 new
// deployments of all repositories. The deployments streams of the jobs a worker runs at the same
// time share their `nodes(ids:)` queries (connectors/github/node-batcher.ts); jobs in other
// processes cannot. Needs the Redis of REDIS_URL (default redis://127.0.0.1:6379); its keys go
// under a prefix of their own, deleted at the end.
import { evaluationBatches } from '../src/queue/batches.js';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startGithubSimulator } from '../connectors/github/sim/server.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { formatProblem, parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/lib/logger.js';
import { redisOptions } from '../src/lib/redis.js';
import { createQueues, syncNow, type Queues } from '../src/queue/queues.js';
import { createWorkers } from '../src/queue/workers.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { planStreams } from '../src/sync/plan.js';
import { applyDayOfActivity, benchConfigYaml, DAY, generateOrg, NOW, TOKEN } from './sync/org.js';

export interface WorkersBenchOptions {
  repos: number;
  days: number;
  /** The sync worker's concurrency (jobs at once in the process). */
  concurrency: number;
  redisUrl: string;
  print: (line: string) => void;
}

export interface WorkersBenchResult {
  /** Deployments streams that had new deployments in the day. */
  streams: number;
  newDeployments: number;
  graphqlQueries: number;
  minimum: number;
}

async function drained(queues: Queues): Promise<void> {
  let quiet = 0;
  while (quiet < 3) {
    const c = await queues.sync.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    quiet = Object.values(c).every((n) => n === 0) ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runWorkersBench(opts: WorkersBenchOptions): Promise<WorkersBenchResult> {
  let clockMs = NOW;
  const clock = () => clockMs;
  const org = generateOrg(opts.repos, opts.days);
  const github = await startGithubSimulator({ dataset: org.github, token: TOKEN, rateLimit: 1_000_000_000, graphqlRateLimit: 1_000_000_000, artifactUrlTtlMs: DAY });
  const pagerduty = await startPagerDutySimulator({ dataset: org.pagerduty, token: TOKEN, now: clock });
  const prefix = `bench-sync-workers-${randomUUID()}`;
  const redis = new Redis(opts.redisUrl);
  const connection = redisOptions(opts.redisUrl);
  const logger = createLogger('silent');
  const queues = createQueues({ connection, prefix });
  try {
    const { config, problems } = parseConfig(benchConfigYaml(org.repos, org.services, github.url, pagerduty.url), 'bench-sync.yaml', {});
    if (!config) throw new Error(`bench config is invalid:\n${problems.map(formatProblem).join('\n')}`);
    const store = new RedisStore({ redis, prefix });
    const connectors = createConnectors({ config, store, logger, now: clock });
    const workers = createWorkers({ connection, prefix, queues, store, connectors: () => connectors, config: () => config, logger, now: clock, concurrency: opts.concurrency, batches: evaluationBatches(redis, prefix, queues) });
    try {
      await syncNow(queues, config);
      await drained(queues);
      const before = new Map(org.github.repos.map((r) => [r.fullName, new Set(r.deployments.map((d) => d.id))]));
      const day = applyDayOfActivity(org, NOW);
      clockMs = NOW + DAY;
      const mark = github.requests.length;
      await syncNow(queues, config);
      await drained(queues);
      const made = github.requests.slice(mark);
      const graphqlQueries = made.filter((r) => r.route === 'POST /graphql').length;
      // New deployments of the environments the config reads (the streams that had something to read).
      const streams = new Set<string>();
      let newDeployments = 0;
      const read = new Set(planStreams(config).filter((s) => s.stream === 'deployments').map((s) => s.key));
      for (const r of org.github.repos) {
        for (const d of r.deployments) {
          const key = `${r.fullName}@${d.environment}`;
          if (before.get(r.fullName)!.has(d.id) || !read.has(key)) continue;
          streams.add(key);
          newDeployments++;
        }
      }
      const minimum = Math.max(1, Math.ceil(newDeployments / 100));
      opts.print(
        `one day of new activity (${day.deployments} deployments) synced by one sync worker of concurrency ${opts.concurrency}: ` +
          `deployment statuses ${graphqlQueries} GraphQL queries for ${newDeployments} new deployments in ${streams.size} streams (minimum ${minimum}; one per stream without pooling: ${streams.size})`,
      );
      return { streams: streams.size, newDeployments, graphqlQueries, minimum };
    } finally {
      await workers.close();
    }
  } finally {
    await queues.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await github.close();
    await pagerduty.close();
  }
}

function parseArgs(argv: string[]): WorkersBenchOptions {
  const o: WorkersBenchOptions = { repos: 20, days: 60, concurrency: 4, redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', print: (l) => console.log(l) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = (name: string) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer, e.g. ${name} 2; got ${argv[i] ?? 'nothing'}`);
      return v;
    };
    if (a === '--repos') o.repos = int('--repos');
    else if (a === '--days') o.days = int('--days');
    else if (a === '--concurrency') o.concurrency = int('--concurrency');
    else throw new Error(`unknown option ${a}; use --repos N --days D --concurrency C`);
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWorkersBench(parseArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
