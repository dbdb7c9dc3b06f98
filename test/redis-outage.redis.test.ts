// `krt serve` against its own redis-server that is killed, restarted empty, loses a key, or evicts:
// the service stays up, says the truth on /readyz and /metrics, and repopulates what was lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import type { ObjectivesDocument } from '../src/exporters/objectives-view.js';
import { freePort, until } from './helpers/net.js';

const DAY = 86_400_000;
const TOKEN = 'outage-token';
const prefix = 'test-outage';
let sim: GithubSimulator;
let dir: string;
let redisPort: number;
let redisUrl: string;
let redis: ChildProcess | null = null;
const procs: { child: ChildProcess; out: string }[] = [];

const OKRS = (githubUrl: string, sync: string) => `version: 1
sources:
  github: { token: "\${GITHUB_TOKEN}", baseUrl: "${githubUrl}" }
schedule: { sync: ${sync}, evaluate: ${sync} }
objectives:
  - id: delivery
    title: Ship to production often
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - id: deploy-frequency
        title: Increase deployment frequency to daily
        metric: deployment_frequency
        repos: [acme/payments, acme/checkout]
        target: 1
`;

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await until('redis-server answers', async () => {
    const r = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG' ? true : undefined;
    } finally {
      r.disconnect();
    }
  }, 10_000, 50);
}

async function killRedis(): Promise<void> {
  const r = redis!;
  redis = null;
  const gone = new Promise((res) => r.once('exit', res));
  r.kill('SIGKILL');
  await gone;
}

async function withRedis<T>(f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    return await f(r);
  } finally {
    r.disconnect();
  }
}

async function serve(config: string): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const port = await freePort();
  const file = join(dir, `okrs-${port}.yaml`);
  await writeFile(file, config);
  const child = spawn(process.execPath, ['bin/krt.js', 'serve', '--config', file, '--port', String(port), '--redis-url', redisUrl, '--prefix', prefix], {
    env: { ...process.env, GITHUB_TOKEN: TOKEN, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = { child, out: '' };
  child.stdout!.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await until('krt serve answers /healthz', async () => {
    if (child.exitCode !== null) throw new Error(`krt serve exited ${child.exitCode}: ${p.out}`);
    return (await fetch(`${url}/healthz`)).ok ? true : undefined;
  }, 30_000);
  return { child, url, out: () => p.out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.kill('SIGTERM');
  return exited;
}

const value = async (url: string, after = 0) => {
  const res = await fetch(`${url}/api/v1/objectives`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return undefined;
  const kr = ((await res.json()) as ObjectivesDocument).objectives[0]!.keyResults[0]!;
  return kr.value !== null && kr.evaluatedAt !== null && Date.parse(String(kr.evaluatedAt)) > after ? kr : undefined;
};

const syncsDone = (out: string) => {
  const counts: Record<string, number> = {};
  for (const line of out.split('\n')) {
    if (!line.includes('"msg":"sync done"')) continue;
    const stream = (JSON.parse(line) as { stream: string }).stream;
    counts[stream] = (counts[stream] ?? 0) + 1;
  }
  return counts;
};

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 7, repos: ['acme/payments', 'acme/checkout'], from: new Date(now - 60 * DAY), to: new Date(now - 60_000) }),
    token: TOKEN,
  });
  dir = await mkdtemp(join(tmpdir(), 'krt-outage-'));
  redisPort = await freePort();
  redisUrl = `redis://127.0.0.1:${redisPort}`;
});

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  if (redis) await killRedis();
  await sim?.close();
});

describe('krt serve and its Redis', () => {
  it('syncs each stream exactly once at start-up', async () => {
    await startRedis();
    const krt = await serve(OKRS(sim.url, '1h'));
    await until('a first value', () => value(krt.url), 60_000);
    // Every job that start-up enqueued has run or been folded into another by now.
    await until('no sync job left', () => withRedis(async (r) => ((await r.llen(`${prefix}-bull:krt-sync:wait`)) === 0 && (await r.zcard(`${prefix}-bull:krt-sync:active`)) === 0 ? true : undefined)), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(syncsDone(krt.out())).toEqual({
      'github:deployments:acme/checkout@production': 1,
      'github:deployments:acme/payments@production': 1,
    });
    expect(await stop(krt.child)).toBe(0);
    await killRedis();
  }, 120_000);

  it('serves HTTP while Redis is down at start (not ready), and syncs once it comes', async () => {
    const krt = await serve(OKRS(sim.url, '3s'));
    expect((await fetch(`${krt.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${krt.url}/readyz`, { signal: AbortSignal.timeout(2000) })).status).toBe(503);
    expect((await fetch(`${krt.url}/api/v1/objectives`, { signal: AbortSignal.timeout(2000) })).status).toBe(503);
    await startRedis();
    await until('ready', async () => ((await fetch(`${krt.url}/readyz`)).ok ? true : undefined), 30_000);
    await until('a value after Redis came', () => value(krt.url), 60_000);

    // A lost events hash while its cursor and ETags remain: detected, and the events come back.
    const key = `${prefix}:{acme/payments}:events:deployment:acme/payments@production`;
    expect(await withRedis((r) => r.exists(key))).toBe(1);
    await withRedis((r) => r.del(key));
    await until('the deleted events are synced again', async () => ((await withRedis((r) => r.exists(key))) === 1 ? true : undefined), 60_000);
    expect(krt.out()).toContain('stored events of the stream are gone while its cursor remained');

    // Redis killed: /readyz says so at once, /metrics serves the values of the last scrape marked
    // stale, the API 503.
    expect(await (await fetch(`${krt.url}/metrics`)).text()).toContain('krt_redis_up 1');
    await killRedis();
    const ready = await fetch(`${krt.url}/readyz`, { signal: AbortSignal.timeout(1000) });
    expect(ready.status).toBe(503);
    const metrics = await fetch(`${krt.url}/metrics`, { signal: AbortSignal.timeout(2000) });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('krt_redis_up 0');
    expect(text).toMatch(/okr_key_result_value\{objective="delivery",key_result="deploy-frequency"\} \d/);
    expect(text).toMatch(/krt_metrics_data_age_seconds \d/);
    expect((await fetch(`${krt.url}/api/v1/objectives`, { signal: AbortSignal.timeout(2000) })).status).toBe(503);
    expect((await fetch(`${krt.url}/healthz`)).status).toBe(200);

    // Back, but empty (a failover to an empty replica): schedulers and data are repopulated.
    const restarted = Date.now();
    await startRedis();
    await until('a value evaluated after Redis came back empty', () => value(krt.url, restarted), 60_000);
    expect(await withRedis((r) => r.exists(key))).toBe(1);
    expect(krt.child.exitCode).toBeNull();
    expect(await stop(krt.child)).toBe(0);
  }, 240_000);

  it('refuses to start on a Redis that evicts keys', async () => {
    if (!redis) await startRedis();
    await withRedis((r) => r.config('SET', 'maxmemory-policy', 'allkeys-lru'));
    const file = join(dir, 'evict.yaml');
    await writeFile(file, OKRS(sim.url, '1h'));
    const child = spawn(process.execPath, ['bin/krt.js', 'serve', '--config', file, '--port', String(await freePort()), '--redis-url', redisUrl, '--prefix', prefix], {
      env: { ...process.env, GITHUB_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    expect(code).not.toBe(0);
    expect(out).toContain('maxmemory-policy allkeys-lru');
    expect(out).toContain('noeviction');
  }, 60_000);
});
