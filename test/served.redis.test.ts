// /metrics and /api/v1/* served from memory: the text is prom-client's, Redis is read again only
// when the change counter moves (a write in this process or in another), staleness turns a
// status no_data at the exact instant without a read, and gzip bodies decompress to the plain ones.
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, registryOf } from '../bench/exposition-registry.js';
import type { EvaluationResult } from '../src/core/result.js';
import { startHttpServer, type RunningHttpServer } from '../src/exporters/http.js';
import { acceptsGzip, crc32, crc32Combine, deflatePartSync, gzipOf } from '../src/exporters/gzip.js';
import { renderMetrics, snapshotOf } from '../src/exporters/metrics.js';
import { markingStore, redisChanges } from '../src/queue/changes.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { RedisStore } from '../src/store/redis-store.js';
import type { Store } from '../src/core/store.js';
import { config, keyResult, objective } from './helpers/config.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const logger = pino({ level: 'silent' });
const MIN = 60_000;
const T0 = Date.parse('2026-11-25T12:00:00Z');
const cfg = config({
  objectives: [
    objective({ keyResults: [keyResult(), keyResult({ id: 'second', title: 'A "quoted" title \\ with\nnewline' })] }),
    objective({ id: 'reliability', title: 'Reliable', keyResults: [keyResult({ id: 'third', objectiveId: 'reliability' })] }),
  ],
});
const res = (over: Partial<EvaluationResult>): EvaluationResult => ({
  objectiveId: 'cicd',
  keyResultId: 'deploy-frequency',
  metric: 'deployment_frequency',
  unit: 'per_day',
  at: T0,
  evaluatedAt: T0,
  value: 0.75,
  baseline: 0.5,
  target: 1,
  kind: 'increase',
  progress: 0.5,
  expected: 0.6,
  status: 'on_track',
  forecast: 0.9,
  score: null,
  error: null,
  ...over,
});
const health = {
  stream: { source: 'github', stream: 'deployments', key: 'acme/payments@production' },
  lastAttemptAt: T0,
  lastSuccessAt: T0,
  lastError: null,
  lastDurationMs: 1500,
  requests: 12,
  notModified: 7,
  failures: 1,
  eventsStored: 300,
  rateLimitRemaining: 4990,
};

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A store that counts the reads of results. */
function counting<S extends Store>(store: S): S & { resultReads: number } {
  const s = store as S & { resultReads: number };
  s.resultReads = 0;
  const get = store.getResults.bind(store);
  s.getResults = async () => {
    s.resultReads++;
    return get();
  };
  return s;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

const line = (text: string, re: RegExp) => text.split('\n').find((l) => re.test(l));

async function serveRedis(opts: { now: () => number; maxAgeMs?: number }) {
  const { prefix, cleanup } = testPrefix();
  const redis = new Redis(REDIS_URL);
  const changes = redisChanges(redis, prefix);
  const raw = counting(new RedisStore({ redis, prefix }));
  const store = markingStore(raw, changes);
  const http = await startHttpServer({ store, version: () => changes.version(), pollMs: 0, maxAgeMs: opts.maxAgeMs, config: () => cfg, now: opts.now, logger, ready: async () => true, port: 0 });
  cleanups.push(async () => {
    await http.close();
    await cleanup();
    redis.disconnect();
  });
  return { prefix, raw, store, changes, http };
}

describe('the exposition', () => {
  it('is the text a bare prom-client registry holding the same series prints', async () => {
    const snap = snapshotOf([res({}), res({ keyResultId: 'second', value: null, score: 0.7 }), res({ objectiveId: 'reliability', keyResultId: 'third', evaluatedAt: T0 - 20 * MIN })], [health, { ...health, stream: { ...health.stream, key: 'acme/"x"@p' }, lastSuccessAt: null, rateLimitRemaining: null }]);
    const { text } = renderMetrics(cfg, snap, T0);
    expect(await registryOf(parseExposition(text)).metrics()).toBe(text);
    expect(line(text, /^okr_key_result_info\{.*second/)).toContain('title="A \\"quoted\\" title \\\\ with\\nnewline"');
  });

  it('holds until the first result turns stale, to the millisecond', () => {
    const snap = snapshotOf([res({ evaluatedAt: T0 }), res({ keyResultId: 'second', evaluatedAt: T0 - MIN })], []);
    const evaluateMs = cfg.schedule.evaluateMs;
    const r = renderMetrics(cfg, snap, T0);
    expect(r.validUntil).toBe(T0 - MIN + 3 * evaluateMs);
    const at = (now: number) => line(renderMetrics(cfg, snap, now).text, /^okr_key_result_status\{.*second",status="no_data"/);
    expect(at(r.validUntil)).toMatch(/ 0$/);
    expect(at(r.validUntil + 1)).toMatch(/ 1$/);
  });
});

describe('gzip from parts', () => {
  it('joins parts compressed apart into one gzip member with the CRC of the whole', () => {
    const a = Buffer.from('okr_key_result_value{objective="a"} 1\n'.repeat(5000));
    const b = Buffer.from('krt_redis_up 1\n');
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
    const gz = gzipOf([deflatePartSync(a, false), deflatePartSync(b, false), deflatePartSync('', true)]);
    expect(gunzipSync(gz).equals(Buffer.concat([a, b]))).toBe(true);
    expect(gz.length).toBeLessThan(a.length / 20);
  });

  it('reads Accept-Encoding', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});

describe('/metrics and /api from memory', () => {
  it('reads Redis again only when the change counter moves, also for a write by another process', async () => {
    const s = await serveRedis({ now: () => T0 });
    await s.store.putResult(res({}));
    await s.store.putSourceHealth(health);
    await s.changes.flushed();
    const first = (await get(`${s.http.url}/metrics`)).body.toString();
    expect(line(first, /^okr_key_result_value\{.*deploy-frequency/)).toMatch(/ 0\.75$/);
    expect(first).toContain('krt_redis_up 1');
    expect(first).toContain('krt_metrics_data_age_seconds 0');
    const reads = s.raw.resultReads;
    for (let i = 0; i < 5; i++) await get(`${s.http.url}/metrics`);
    await get(`${s.http.url}/api/v1/objectives`);
    expect(s.raw.resultReads).toBe(reads);

    // Another process: its own connection and store, the same prefix.
    const other = new Redis(REDIS_URL);
    const otherChanges = redisChanges(other, s.prefix);
    await markingStore(new RedisStore({ redis: other, prefix: s.prefix }), otherChanges).putResult(res({ value: 1.25 }));
    await otherChanges.flushed();
    other.disconnect();
    const next = (await get(`${s.http.url}/metrics`)).body.toString();
    expect(line(next, /^okr_key_result_value\{.*deploy-frequency/)).toMatch(/ 1\.25$/);
    expect(s.raw.resultReads).toBe(reads + 1);
    const doc = JSON.parse((await get(`${s.http.url}/api/v1/objectives`)).body.toString()) as { at: string; objectives: { keyResults: { id: string; value: number }[] }[] };
    expect(doc.at).toBe(new Date(T0).toISOString());
    expect(doc.objectives[0]?.keyResults[0]?.value).toBe(1.25);
  });

  it('turns a status no_data when its result goes stale, without reading Redis', async () => {
    let now = T0;
    const s = await serveRedis({ now: () => now, maxAgeMs: Infinity });
    await s.store.putResult(res({ evaluatedAt: T0 }));
    await s.changes.flushed();
    const status = async (st: string) => line((await get(`${s.http.url}/metrics`)).body.toString(), new RegExp(`^okr_key_result_status\\{.*deploy-frequency",status="${st}"`));
    expect(await status('on_track')).toMatch(/ 1$/);
    const reads = s.raw.resultReads;
    now = T0 + 3 * cfg.schedule.evaluateMs;
    expect(await status('on_track')).toMatch(/ 1$/);
    now += 1;
    expect(await status('no_data')).toMatch(/ 1$/);
    expect(await status('on_track')).toMatch(/ 0$/);
    const doc = JSON.parse((await get(`${s.http.url}/api/v1/objectives`)).body.toString()) as { objectives: { keyResults: { status: string }[] }[] };
    expect(doc.objectives[0]?.keyResults[0]?.status).toBe('no_data');
    expect(s.raw.resultReads).toBe(reads);
  });

  it('serves gzip to a client that accepts it, the same body once decompressed', async () => {
    const s = await serveRedis({ now: () => T0 });
    await s.store.putResult(res({}));
    await s.store.putSourceHealth(health);
    await s.changes.flushed();
    for (const path of ['/metrics', '/api/v1/objectives', '/api/v1/sources']) {
      const plain = await get(`${s.http.url}${path}`);
      const gz = await get(`${s.http.url}${path}`, { 'accept-encoding': 'gzip' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.headers.vary).toBe('accept-encoding');
      expect(gz.headers['content-type']).toBe(plain.headers['content-type']);
      expect(gunzipSync(gz.body).toString()).toBe(plain.body.toString());
      expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    }
    expect((await get(`${s.http.url}/metrics`)).headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('serves the last values with krt_redis_up 0 and their age while the counter cannot be read', async () => {
    let now = T0;
    let down = false;
    const store = new MemoryStore();
    await store.putResult(res({}));
    const http: RunningHttpServer = await startHttpServer({
      store,
      version: async () => {
        if (down) throw new Error('Connection is closed.');
        return 1;
      },
      pollMs: 0,
      config: () => cfg,
      now: () => now,
      logger,
      ready: async () => true,
      port: 0,
    });
    cleanups.push(() => http.close());
    expect((await get(`${http.url}/metrics`)).body.toString()).toContain('krt_redis_up 1');
    now += 5_000;
    expect((await get(`${http.url}/metrics`)).body.toString()).toContain('krt_metrics_data_age_seconds 0');
    down = true;
    now += 7_000;
    const text = (await get(`${http.url}/metrics`)).body.toString();
    expect(text).toContain('krt_redis_up 0');
    expect(text).toContain('krt_metrics_data_age_seconds 7');
    expect(line(text, /^okr_key_result_value\{.*deploy-frequency/)).toMatch(/ 0\.75$/);
  });
});
