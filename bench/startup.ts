// npm run bench:startup [-- --repos 20 --days 365 --krs 5000 --per-objective 100]
//
// Start-up of `krt serve` with --krs key results, from start to idle. The bench organisation
// (bench/sync/org.ts) is served by the GitHub and PagerDuty simulators; its events are stored
// first by one sync of every stream (not timed), as a service that restarts finds them, and its 34
// key results are repeated to --krs in objectives of --per-objective. Then the service starts
// (in this process, with a Redis of its own) and the bench waits until it is idle: no sync or
// evaluate job waiting or running, none due within the next 5 s, and every key result evaluated.
// Prints the time to idle, the time the start-up syncs took, the evaluate jobs added, and the
// evaluations per key result (target: one).
// Runs on older trees too (one evaluate job per key result), for before/after.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { QueueEvents, Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import { startGithubSimulator } from '../connectors/github/sim/server.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { parseConfig, formatProblem } from '../src/config/load.js';
import { runOnce } from '../src/engine/run-once.js';
import { createLogger } from '../src/lib/logger.js';
import { freePort } from '../src/lib/net.js';
import { startService } from '../src/service.js';
import { RedisStore } from '../src/store/redis-store.js';
import { createConnectors } from '../src/sync/connectors.js';
import { benchConfigYaml, DAY, generateOrg, NOW, TOKEN } from './sync/org.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REPOS = opt('repos', 20);
const DAYS = opt('days', 365);
const KRS = opt('krs', 5000);
const PER_OBJECTIVE = opt('per-objective', 100);
const TIMEOUT_MS = opt('timeout', 600) * 1000;

interface RawConfig {
  objectives: { id: string; keyResults: { id: string }[] }[];
}

/** The bench config's YAML with its key results repeated to `n`, `perObjective` to an objective. */
function repeatedYaml(yaml: string, n: number, perObjective: number): string {
  const doc = YAML.parse(yaml) as RawConfig & Record<string, unknown>;
  const all = doc.objectives.flatMap((o) => o.keyResults.map((kr) => ({ o, kr })));
  const out = new Map<string, RawConfig['objectives'][number]>();
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { o, kr } = all[i % all.length]!;
    const copy = Math.floor(i / all.length);
    const k = counts.get(o.id) ?? 0;
    counts.set(o.id, k + 1);
    const part = Math.floor(k / perObjective);
    const id = part === 0 ? o.id : `${o.id}-${part + 1}`;
    const target = out.get(id) ?? { ...o, id, keyResults: [] };
    out.set(id, target);
    target.keyResults.push({ ...kr, id: copy === 0 ? kr.id : `${kr.id}-${copy}` });
  }
  // Lists of scalars in flow style: the file stays under the 1 MB an OKR file may have.
  const file = new YAML.Document({ ...doc, objectives: [...out.values()] }, { aliasDuplicateObjects: false });
  YAML.visit(file, {
    Seq(_, node) {
      if (node.items.every((i) => YAML.isScalar(i))) node.flow = true;
    },
  });
  return file.toString({ lineWidth: 0 });
}

async function startRedis(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  r.on('error', () => {}); // refused until redis-server listens
  await r.ping();
  r.disconnect();
  return { port, proc };
}

const evaluationsOf = (returnvalue: unknown): number => {
  const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as Record<string, unknown> | null;
  if (!r) return 0;
  if (typeof r.evaluated === 'number') return r.evaluated; // a batch
  return 'status' in r ? 1 : 0; // one key result (before batches); skipped: 0
};

async function main(): Promise<void> {
  const { port, proc } = await startRedis();
  const redisUrl = `redis://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'krt-bench-startup-'));
  const org = generateOrg(REPOS, DAYS);
  const t0 = Date.now();
  const clock = () => NOW + (Date.now() - t0);
  const github = await startGithubSimulator({ dataset: org.github, token: TOKEN, rateLimit: 1_000_000_000, graphqlRateLimit: 1_000_000_000, artifactUrlTtlMs: DAY } as Parameters<typeof startGithubSimulator>[0]);
  const pagerduty = await startPagerDutySimulator({ dataset: org.pagerduty, token: TOKEN, now: clock });
  const logger = createLogger('silent');
  const prefix = 'krt';
  try {
    // The events, stored by one sync of every stream (as a restarted service finds them).
    const baseYaml = benchConfigYaml(org.repos, org.services, github.url, pagerduty.url);
    const { config: base, problems } = parseConfig(baseYaml, 'bench-startup.yaml', {});
    if (!base) throw new Error(problems.map(formatProblem).join('\n'));
    const redis = new Redis(redisUrl);
    const store = new RedisStore({ redis, prefix });
    const s0 = performance.now();
    await runOnce({ config: base, store, connectors: createConnectors({ config: base, store, logger, now: clock }), logger, now: clock });
    const storeMs = performance.now() - s0;
    await redis.del(`${prefix}:results`);
    for (const k of await redis.keys(`${prefix}:history:*`)) await redis.del(k);
    const file = join(dir, 'okrs.yaml');
    // 5,000 key results of the bench config take 1.2 MB; an OKR file may have 1 MB. Raised for
    // this process only (the service runs in it).
    const syntax = (await import('../src/config/syntax.js')) as { LIMITS?: { fileBytes: number } };
    if (syntax.LIMITS) syntax.LIMITS.fileBytes = 8 * 1024 * 1024;
    await writeFile(file, repeatedYaml(baseYaml, KRS, PER_OBJECTIVE));

    // Counting what the service's queues do from its start.
    const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
    const bullPrefix = `${prefix}-bull`;
    const evalEvents = new QueueEvents('krt-evaluate', { connection, prefix: bullPrefix });
    const syncEvents = new QueueEvents('krt-sync', { connection, prefix: bullPrefix });
    await Promise.all([evalEvents.waitUntilReady(), syncEvents.waitUntilReady()]);
    const counts = { evalAdded: 0, evalDeduplicated: 0, evaluations: 0, evalJobs: 0, syncAdded: 0, syncJobs: 0 };
    let lastSyncAt = 0;
    evalEvents.on('added', () => counts.evalAdded++);
    evalEvents.on('deduplicated', () => counts.evalDeduplicated++);
    evalEvents.on('completed', ({ returnvalue }) => {
      counts.evalJobs++;
      counts.evaluations += evaluationsOf(returnvalue);
    });
    syncEvents.on('added', () => counts.syncAdded++);
    syncEvents.on('completed', () => {
      counts.syncJobs++;
      lastSyncAt = performance.now();
    });
    const evalQueue = new Queue('krt-evaluate', { connection, prefix: bullPrefix });
    const syncQueue = new Queue('krt-sync', { connection, prefix: bullPrefix });

    const start = performance.now();
    const service = await startService({ configFile: file, redisUrl, prefix, role: 'serve', port: 0, logger, now: clock });
    const krs = service.config().objectives.reduce((n, o) => n + o.keyResults.length, 0);
    const busy = async (q: Queue) => {
      const c = await q.getJobCounts('waiting', 'active', 'prioritized');
      if ((c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) > 0) return true;
      const soon = Date.now() + 5_000;
      return ((await q.getJobs(['delayed'], 0, -1)) as Job[]).some((j) => j && j.timestamp + (j.delay ?? 0) < soon);
    };
    let idleAt = 0;
    let idleSince = 0;
    while (performance.now() - start < TIMEOUT_MS) {
      const idle = !(await busy(syncQueue)) && !(await busy(evalQueue)) && (await redis.hlen(`${prefix}:results`)) >= krs;
      if (idle) {
        idleSince ||= performance.now();
        if (performance.now() - idleSince > 1_000) {
          idleAt = idleSince;
          break;
        }
      } else {
        idleSince = 0;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 200)); // the last events
    const rss = process.resourceUsage().maxRSS / 1024;
    await service.stop();
    const results = await redis.hlen(`${prefix}:results`);

    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(`\nstart-up of krt serve with ${krs.toLocaleString('en')} key results in ${service.config().objectives.length} objectives (${REPOS} repositories, ${DAYS} days; events stored first in ${s(storeMs)}), ${new Date().toISOString()}\n`);
    console.log('| | value |');
    console.log('| --- | --- |');
    console.log(`| time to idle | ${idleAt ? s(idleAt - start) : `not idle after ${s(TIMEOUT_MS)}`} |`);
    console.log(`| the start-up syncs done after | ${lastSyncAt ? s(lastSyncAt - start) : '-'} (${counts.syncJobs} sync jobs) |`);
    console.log(`| idle after the last sync | ${idleAt && lastSyncAt ? s(idleAt - lastSyncAt) : '-'} |`);
    console.log(`| evaluate jobs added (deduplicated adds) | ${counts.evalAdded.toLocaleString('en')} (${counts.evalDeduplicated.toLocaleString('en')}) |`);
    console.log(`| evaluate jobs run | ${counts.evalJobs.toLocaleString('en')} |`);
    console.log(`| evaluations | ${counts.evaluations.toLocaleString('en')}: **${(counts.evaluations / krs).toFixed(2)} per key result** (target 1) |`);
    console.log(`| evaluate jobs added per key result | ${(counts.evalAdded / krs).toFixed(3)} |`);
    console.log(`| key results with a result | ${results.toLocaleString('en')} of ${krs.toLocaleString('en')} |`);
    console.log(`| peak RSS (bench, simulators and service in one process) | ${rss.toFixed(0)} MB |`);

    await Promise.all([evalEvents.close(), syncEvents.close(), evalQueue.close(), syncQueue.close()]);
    redis.disconnect();
  } finally {
    await github.close();
    await pagerduty.close();
    proc.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
