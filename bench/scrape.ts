// npm run bench:scrape [-- --krs 5000 --scrapes 30]
//
// What a Prometheus scrape of /metrics costs with --krs key results (the 34 key results of the
// bench organisation repeated, results and source health stored in Redis as the service stores
// them), over real HTTP, measured in one run against:
//   - a bare prom-client registry holding the same series (set once, no collect hooks), served
//     by a plain HTTP server: what the text costs to print from prom-client;
//   - kr-tracker reading Redis and rendering on every scrape (no change counter): what serving
//     without the memory costs.
// Prints, per server, the median and p90 scrape time, the bytes and the series, and the ratio of
// kr-tracker's scrape to the bare registry's (target: under 0.5x and under 50 ms).
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { EvaluationResult } from '../src/core/result.js';
import { STATUSES } from '../src/core/result.js';
import { startHttpServer } from '../src/exporters/http.js';
import * as metricsModule from '../src/exporters/metrics.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { planStreams } from '../src/sync/plan.js';
import { parseExposition, registryOf } from './exposition-registry.js';
import { benchConfig, repeated } from './org-config.js';
import { NOW, repoNames, SERVICES } from './sync/org.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const KRS = opt('krs', 5000);
const SCRAPES = opt('scrapes', 30);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function scrape(url: string, gzip: boolean): Promise<{ ms: number; bytes: number; text: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}: ${body.toString().slice(0, 200)}`));
        resolve({ ms: performance.now() - t0, bytes: body.length, text: gzip ? '' : body.toString() });
      });
    })
      .on('error', reject)
      .end();
  });
}

interface Row {
  server: string;
  median: number;
  p90: number;
  bytes: number;
  series: number;
}

async function measure(server: string, url: string, gzip: boolean): Promise<Row> {
  for (let i = 0; i < 3; i++) await scrape(url, gzip); // warm-up: JIT, connection, first render
  const times: number[] = [];
  let last = { ms: 0, bytes: 0, text: '' };
  for (let i = 0; i < SCRAPES; i++) {
    last = await scrape(url, gzip);
    times.push(last.ms);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const series = gzip ? NaN : last.text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  return { server, median: sorted[Math.floor(sorted.length / 2)]!, p90: sorted[Math.floor(sorted.length * 0.9)]!, bytes: last.bytes, series };
}

function result(objectiveId: string, keyResultId: string, i: number): EvaluationResult {
  const value = (i % 97) / 7;
  return {
    objectiveId,
    keyResultId,
    metric: 'deployment_frequency',
    unit: 'per_day',
    at: NOW,
    evaluatedAt: Date.now(),
    value: i % 11 === 0 ? null : value,
    baseline: value / 2,
    target: 30,
    kind: 'increase',
    progress: i % 11 === 0 ? null : (i % 100) / 100,
    expected: 0.6,
    status: STATUSES[i % 4]!,
    forecast: i % 3 === 0 ? null : value * 1.1,
    score: null,
    error: null,
  };
}

async function main(): Promise<void> {
  const config = repeated(benchConfig(repoNames(20), SERVICES), KRS);
  const prefix = `bench-scrape-${process.pid}`;
  const redis = new Redis(REDIS_URL);
  const store = new RedisStore({ redis, prefix });
  let i = 0;
  for (const o of config.objectives) for (const kr of o.keyResults) await store.putResult(result(o.id, kr.id, i++));
  for (const stream of planStreams(config)) {
    await store.putSourceHealth({ stream, lastAttemptAt: NOW, lastSuccessAt: NOW, lastError: null, lastDurationMs: 1200, requests: 40, notModified: 30, failures: 0, eventsStored: 900, rateLimitRemaining: 4000 });
  }
  const changesModule = await import('../src/queue/changes.js').catch(() => null);
  const changes = changesModule?.redisChanges(redis, prefix);
  const exporter = metricsModule.createMetricsExporter({ store, config: () => config, now: Date.now });
  // `exporter` for trees before the served view; ignored by it.
  const common = { exporter, store: store as Store, config: () => config, now: Date.now, logger, ready: async () => true, port: 0 };
  const memory = await startHttpServer({ ...common, version: changes ? () => changes.version() : undefined } as Parameters<typeof startHttpServer>[0]);
  const perScrape = await startHttpServer(common as Parameters<typeof startHttpServer>[0]);

  // The bare registry: the same series, set once.
  const text = await exporter.render();
  const registry = registryOf(parseExposition(text));
  if ((await registry.metrics()) !== text) console.warn('note: the bare registry prints a text different from kr-tracker\'s');
  const bare = createServer((_req, res) => {
    void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/metrics`;

  const rows: Row[] = [];
  rows.push(await measure('bare prom-client registry', bareUrl, false));
  rows.push(await measure('kr-tracker /metrics (from memory)', `${memory.url}/metrics`, false));
  rows.push(await measure('kr-tracker /metrics, gzip (from memory)', `${memory.url}/metrics`, true));
  rows.push(await measure('kr-tracker, Redis read + rendered per scrape', `${perScrape.url}/metrics`, false));
  rows.push(await measure('bare prom-client registry (again)', bareUrl, false));

  // After a change lands: the first scrape waits for one reload and render.
  const afterChange: number[] = [];
  if (changes) {
    for (let k = 0; k < 5; k++) {
      const o = config.objectives[0]!;
      await store.putResult(result(o.id, o.keyResults[0]!.id, k));
      changes.mark();
      await changes.flushed();
      afterChange.push((await scrape(`${memory.url}/metrics`, false)).ms);
    }
  }

  const baseline = (rows[0]!.median + rows[4]!.median) / 2;
  const fmt = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(1));
  console.log(`\n/metrics with ${KRS} key results, ${SCRAPES} scrapes each over HTTP (keep-alive), ${new Date().toISOString()}\n`);
  console.log('| server | median ms | p90 ms | bytes | series | ratio to bare registry |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.server} | ${fmt(r.median)} | ${fmt(r.p90)} | ${r.bytes.toLocaleString('en')} | ${Number.isNaN(r.series) ? '-' : r.series.toLocaleString('en')} | ${(r.median / baseline).toFixed(2)}x |`);
  if (afterChange.length) {
    const sorted = [...afterChange].sort((a, b) => a - b);
    console.log(`\nfirst scrape after a result lands (reload + render): median ${fmt(sorted[2]!)} ms of ${afterChange.map(fmt).join(', ')}`);
  }
  const ours = rows[1]!.median;
  console.log(`\nkr-tracker from memory: ${fmt(ours)} ms, ${(ours / baseline).toFixed(2)}x the bare registry (target: under 0.5x and under 50 ms): ${ours / baseline < 0.5 && ours < 50 ? 'met' : 'NOT met'}`);

  await memory.close();
  await perScrape.close();
  await new Promise<void>((r) => bare.close(() => r()));
  agent.destroy();
  const keys = await redis.keys(`${prefix}*`);
  for (let k = 0; k < keys.length; k += 500) await redis.del(...keys.slice(k, k + 500));
  redis.disconnect();
}

await main();
