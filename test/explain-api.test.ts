// GET /api/v1/key-results/{objective}/{kr}/explain, the components in /api/v1/objectives and
// okr_key_result_component_value on /metrics, from a store holding hand-made deployments of two
// repositories (one of them rolled back).
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentEvent } from '../src/core/events.js';
import { partitionOf, streams } from '../src/core/stream.js';
import { Secret } from '../src/core/secret.js';
import { evaluateKeyResult } from '../src/engine/evaluate.js';
import { createExplainHandler, explainPath } from '../src/exporters/explain-route.js';
import { startHttpServer, type RunningHttpServer } from '../src/exporters/http.js';
import { createLogger } from '../src/lib/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { config, keyResult, objective } from './helpers/config.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const AT = Date.parse('2026-11-20T12:00:00Z');
const REPOS = ['acme/payments', 'acme/checkout'];

/** Successful deployments of `repo` to production: [hours before AT, sha]. */
function deployments(repo: string, list: [number, string][]): DeploymentEvent[] {
  return list.map(([h, sha], i) => ({ repo, id: 1000 + i, sha, environment: 'production', createdAt: AT - h * HOUR - 60_000, state: 'success', statusAt: AT - h * HOUR, statusId: 5000 + i }));
}

const frequency = keyResult({ id: 'deploy-frequency', metric: 'deployment_frequency', repos: REPOS, windowMs: 7 * DAY, baseline: 1, target: { type: 'absolute', value: 2 } });
const rollbacks = keyResult({ id: 'rollback-rate', metric: 'rollback_rate', unit: 'ratio', repos: REPOS, windowMs: 7 * DAY, baseline: 0.2, target: { type: 'absolute', value: 0.05 } });
const obj = objective({ keyResults: [frequency, rollbacks] });
let cfg = config({ objectives: [obj] });
const store = new MemoryStore();
let http: RunningHttpServer;

beforeAll(async () => {
  // payments: a, b, then back to a (a rollback, inside the window); checkout: x, y, one outside the window.
  const events: Record<string, DeploymentEvent[]> = {
    'acme/payments': deployments('acme/payments', [[200, 'a'], [100, 'b'], [50, 'a'], [10, 'c']]),
    'acme/checkout': deployments('acme/checkout', [[300, 'x'], [20, 'y'], [5, 'z']]),
  };
  for (const repo of REPOS) {
    const s = streams.deployments(repo, 'production');
    await store.putEvents(s, 'deployment', partitionOf(s).partition, events[repo]!);
    await store.putSourceHealth({ stream: s, lastAttemptAt: AT, lastSuccessAt: AT, lastError: null, lastDurationMs: 10, requests: 1, notModified: 0, failures: 0, eventsStored: events[repo]!.length, rateLimitRemaining: null });
  }
  for (const kr of [frequency, rollbacks]) await store.putResult(await evaluateKeyResult(obj, kr, { store, at: AT, now: () => AT }));
  http = await startHttpServer({ store, config: () => cfg, now: () => AT, logger: createLogger('silent'), ready: async () => true, port: 0, explain: createExplainHandler({ store, config: () => cfg, now: () => AT }) });
});
afterAll(async () => {
  await http?.close();
});

const get = async (path: string, headers: Record<string, string> = {}) => {
  const r = await fetch(`${http.url}${path}`, { headers });
  return { status: r.status, body: (await r.text()) };
};

describe('the explain endpoint', () => {
  it('lists the deployments of the window with their rollback flags, and the value the evaluation gave', async () => {
    const r = await get(`${explainPath('cicd', 'rollback-rate')}?at=${new Date(AT).toISOString()}`);
    expect(r.status, r.body).toBe(200);
    const e = JSON.parse(r.body) as { value: number; deployments: { repository: string; id: string; sha: string; rollback: boolean; failed: boolean; rework: boolean; cause: unknown }[] };
    expect(e).toMatchObject({ objective: 'cicd', keyResult: 'rollback-rate', metric: 'rollback_rate', at: '2026-11-20T12:00:00.000Z', window: { from: '2026-11-13T12:00:00.000Z', to: '2026-11-20T12:00:00.000Z' } });
    // In the window (the last 168 hours): payments b, a (rollback), c; checkout y, z.
    expect(e.deployments.map((d) => `${d.repository}:${d.sha}`)).toEqual(['acme/checkout:y', 'acme/checkout:z', 'acme/payments:b', 'acme/payments:a', 'acme/payments:c']);
    const byShaRepo = new Map(e.deployments.map((d) => [`${d.repository}:${d.sha}`, d]));
    expect(byShaRepo.get('acme/payments:a')).toMatchObject({ id: '1002', rollback: true, rework: true, failed: false, cause: null });
    // b was followed by the rollback: it failed because of it.
    expect(byShaRepo.get('acme/payments:b')).toMatchObject({ rollback: false, failed: true, cause: { kind: 'rollback', by: '1002' } });
    expect(e.value).toBeCloseTo(1 / 5, 12);
    const stored = (await store.getResults()).find((x) => x.keyResultId === 'rollback-rate')!;
    expect(e.value).toBe(stored.value);
  });

  it('explains now without ?at, answers 404 naming what exists and 400 for a bad instant', async () => {
    const now = await get(explainPath('cicd', 'deploy-frequency'));
    expect(now.status).toBe(200);
    expect((JSON.parse(now.body) as { value: number }).value).toBeCloseTo(5 / 7, 12);
    const missing = await get(explainPath('cicd', 'nope'));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'objective cicd has no key result "nope"; it has: deploy-frequency, rollback-rate' });
    const bad = await get(`${explainPath('cicd', 'deploy-frequency')}?at=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('at=yesterday is not an ISO date');
  });

  it('computes a few explanations at once and answers 429 to more', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    // A store whose reads wait: the first explanation holds its slot until released.
    const slow = Object.create(store) as MemoryStore;
    slow.getEventsInRange = (async (...args: Parameters<MemoryStore['getEventsInRange']>) => {
      await gate;
      return store.getEventsInRange(...args);
    }) as MemoryStore['getEventsInRange'];
    const handle = createExplainHandler({ store: slow, config: () => cfg, now: () => AT, maxInFlight: 1 });
    const route = { objective: 'cicd', keyResult: 'deploy-frequency' };
    const first = handle(route, new URLSearchParams());
    expect(await handle(route, new URLSearchParams())).toMatchObject({ status: 429 });
    release();
    expect((await first).status).toBe(200);
    expect((await handle(route, new URLSearchParams())).status).toBe(200);
  });

  it('krt explain --url asks the service, and prints its tables or its JSON', async () => {
    const krt = (args: string[]) => promisify(execFile)(process.execPath, ['bin/krt.js', 'explain', 'cicd/rollback-rate', '--url', http.url, '--at', new Date(AT).toISOString(), ...args], { encoding: 'utf8' });
    const text = (await krt([])).stdout;
    expect(text).toMatch(/^cicd\/rollback-rate \(rollback_rate\) at 2026-11-20 12:00:00Z: 20\.0%$/m);
    expect(text).toContain('deployments (5): 1 failed, 1 rework, 1 rollback');
    expect(text).toMatch(/acme\/payments\s+1001\s+b\s+2026-11-16 08:00:00Z\s+yes\s+rolled back by 1002/);
    const json = JSON.parse((await krt(['--json'])).stdout) as { value: number; deployments: unknown[] };
    expect(json.value).toBeCloseTo(0.2, 12);
    expect(json.deployments).toHaveLength(5);
    await expect(promisify(execFile)(process.execPath, ['bin/krt.js', 'explain', 'cicd/nope', '--url', http.url], { encoding: 'utf8' })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('answered 404') });
  });

  it('needs the credentials of server.auth like every /api/ path', async () => {
    cfg = config({ objectives: [obj], server: { host: '127.0.0.1', port: 0, auth: { type: 'bearer', token: new Secret('KRT_API_TOKEN', 'a-long-enough-token-123'), metrics: false } } });
    try {
      expect((await get(explainPath('cicd', 'deploy-frequency'))).status).toBe(401);
      expect((await get(explainPath('cicd', 'deploy-frequency'), { authorization: 'Bearer a-long-enough-token-123' })).status).toBe(200);
      // krt status sends KRT_API_TOKEN too, and says what to set without it.
      // (Asynchronously: the server answering it runs in this process.)
      const status = (env: NodeJS.ProcessEnv) => promisify(execFile)(process.execPath, ['bin/krt.js', 'status', '--url', http.url, '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      await expect(status({ KRT_API_TOKEN: '' })).rejects.toMatchObject({ stderr: expect.stringContaining('asks for credentials (server.auth); set KRT_API_TOKEN') });
      const withToken = await status({ KRT_API_TOKEN: 'a-long-enough-token-123' });
      expect(withToken.stderr).toBe('');
      expect((JSON.parse(withToken.stdout) as { objectives: { id: string }[] }).objectives.map((x) => x.id)).toEqual(['cicd']);
    } finally {
      cfg = config({ objectives: [obj] });
    }
  });
});

describe('components on the API and /metrics', () => {
  it('gives each key result over two repositories one value per repository, worst first', async () => {
    const doc = JSON.parse((await get('/api/v1/objectives')).body) as { objectives: { keyResults: { id: string; components: unknown[] }[] }[] };
    const krs = new Map(doc.objectives[0]!.keyResults.map((k) => [k.id, k.components]));
    // Deployment frequency, higher is better: the lowest first (payments 3 in 7 days, checkout 2).
    expect(krs.get('deploy-frequency')).toEqual([
      { repository: 'acme/checkout', value: 2 / 7 },
      { repository: 'acme/payments', value: 3 / 7 },
    ]);
    // Rollback rate, lower is better: the highest first.
    expect(krs.get('rollback-rate')).toEqual([
      { repository: 'acme/payments', value: 1 / 3 },
      { repository: 'acme/checkout', value: 0 },
    ]);
  });

  it('exports okr_key_result_component_value with a repository label, and promtool accepts it', async () => {
    const text = (await get('/metrics')).body;
    const lines = text.split('\n').filter((l) => l.startsWith('okr_key_result_component_value{'));
    expect(lines).toHaveLength(4);
    expect(lines).toContain(`okr_key_result_component_value{objective="cicd",key_result="rollback-rate",repository="acme/payments"} ${1 / 3}`);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('the catalogue', () => {
  it('explains every metric read from stored events (promql, read live, has its value only)', async () => {
    const { CATALOGUE } = await import('../src/metrics/catalogue/index.js');
    const { breakdownOf } = await import('../src/metrics/catalogue/types.js');
    for (const d of CATALOGUE) {
      if (d.source === 'prometheus') continue;
      expect(typeof (d as { explain?: unknown }).explain, `${d.name} has no explain (docs/adding-a-metric.md, "Explaining")`).toBe('function');
      expect(breakdownOf(d), d.name).toBe(d.source === 'github' ? 'repository' : 'service');
    }
    expect(breakdownOf(CATALOGUE.find((d) => d.name === 'promql')!)).toBeNull();
  });
});
