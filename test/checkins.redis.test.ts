// Check-ins round-trip: HTTP API (401 without the token, clear 4xx for bad input and nothing
// stored), the CLI, Redis, the metrics and the weekly digest; revisions recorded on a changed file.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { createCheckinStore } from '../src/checkins/checkin-store.js';
import { createCheckinRoutes } from '../src/checkins/http-route.js';
import { startHttpServer, type RunningHttpServer } from '../src/exporters/http.js';
import { redisChanges } from '../src/queue/changes.js';
import { buildDigestMessage } from '../src/alerts/digest.js';
import { checkinDriftReason } from '../src/alerts/drift.js';
import { createLogger } from '../src/lib/logger.js';
import { RedisStore } from '../src/store/redis-store.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const TOKEN = 'a-long-random-token-for-checkins-0123456789';
const DAY = 86_400_000;
const redis = new Redis(REDIS_URL);
const { prefix, cleanup } = testPrefix();
const dir = mkdtempSync(join(tmpdir(), 'krt-checkins-'));

const yaml = (server: string, target = 1) => `version: 1
${server}sources:
  github: { token: x, baseUrl: http://127.0.0.1:1 }
objectives:
  - id: cicd
    title: Ship more often
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    keyResults:
      - { id: deploy-frequency, title: Deploy daily, metric: deployment_frequency, repos: [acme/payments], target: ${target} }
`;
const configOf = (text: string): Config => {
  const { config, problems } = parseConfig(text, 'okrs.yaml', { KRT_API_TOKEN: TOKEN });
  expect(problems).toEqual([]);
  return config!;
};

const servers: RunningHttpServer[] = [];
async function serve(config: Config, host = '127.0.0.1') {
  const store = new RedisStore({ redis, prefix });
  const checkins = createCheckinStore({ redis, prefix });
  // Served from memory as `krt serve` does: a check-in moves the change counter, which makes the
  // server read again, so its series show on the next scrape.
  const changes = redisChanges(redis, prefix);
  const s = await startHttpServer({
    store,
    version: () => changes.version(),
    config: () => config,
    now: Date.now,
    logger: createLogger('silent'),
    ready: async () => true,
    host,
    port: 0,
    checkins: createCheckinRoutes({ checkins, store }),
    checkinStore: checkins,
  });
  servers.push(s);
  return s.url;
}
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/v1/objectives/cicd/checkins`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
const auth = { authorization: `Bearer ${TOKEN}` };

let authed: string;
beforeAll(async () => {
  authed = await serve(configOf(yaml(`server:\n  auth: { bearerToken: \${KRT_API_TOKEN} }\n`)));
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await cleanup();
  redis.disconnect();
});

describe('check-ins over HTTP', () => {
  it('answers 401 without the token and stores nothing', async () => {
    const res = await post(authed, JSON.stringify({ confidence: 0.6 }));
    expect(res.status).toBe(401);
    expect(await redis.llen(`${prefix}:checkins:{cicd}`)).toBe(0);
  });

  it('refuses bad input with a JSON error naming the field, and stores nothing', async () => {
    const cases: [string, number, string][] = [
      [JSON.stringify({ confidence: 1.2 }), 400, 'confidence'],
      [JSON.stringify({ confidence: '0.5x' }), 400, 'confidence'],
      [JSON.stringify({ note: 'no confidence' }), 400, 'confidence'],
      [JSON.stringify({ confidence: 0.5, note: 'x'.repeat(2001) }), 400, 'note'],
      [JSON.stringify({ confidence: 0.5, by: 42 }), 400, 'by'],
      [JSON.stringify({ confidence: 0.5, color: 'red' }), 400, 'body'],
      ['{"confidence": 0.5', 400, 'body'],
      ['[0.5]', 400, 'body'],
      [JSON.stringify({ confidence: 0.5, note: 'x'.repeat(20_000) }), 413, 'body'],
    ];
    for (const [body, status, field] of cases) {
      const res = await post(authed, body, auth);
      const json = (await res.json()) as { error: string; problems: { field: string }[] };
      expect({ body: body.slice(0, 40), status: res.status }).toEqual({ body: body.slice(0, 40), status });
      expect(json.problems.map((p) => p.field)).toContain(field);
      expect(json.error.length).toBeGreaterThan(10);
    }
    const unknown = await fetch(`${authed}/api/v1/objectives/nope/checkins`, { method: 'POST', body: '{"confidence":0.5}', headers: { 'content-type': 'application/json', ...auth } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain('known: cicd');
    const text = await post(authed, '{"confidence":0.5}', { ...auth, 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await redis.llen(`${prefix}:checkins:{cicd}`)).toBe(0);
  });

  it('stores a check-in with who and when, lists it, and exports it as metrics', async () => {
    const before = Date.now();
    const res = await post(authed, JSON.stringify({ confidence: 0.6, note: 'Review queue is slow', by: 'ana' }), auth);
    expect(res.status).toBe(201);
    const list = (await (await fetch(`${authed}/api/v1/objectives/cicd/checkins`, { headers: auth })).json()) as { checkins: { confidence: number; note: string; by: string; at: string }[] };
    expect(list.checkins).toHaveLength(1);
    expect(list.checkins[0]).toMatchObject({ confidence: 0.6, note: 'Review queue is slow', by: 'ana' });
    expect(Date.parse(list.checkins[0]!.at)).toBeGreaterThanOrEqual(before);
    const metrics = await (await fetch(`${authed}/metrics`)).text();
    expect(metrics).toContain('okr_objective_confidence_ratio{objective="cicd"} 0.6');
    const ts = /okr_objective_last_checkin_timestamp_seconds\{objective="cicd"\} (\S+)/.exec(metrics)?.[1];
    expect(Number(ts) * 1000).toBe(Date.parse(list.checkins[0]!.at));
    expect((await fetch(`${authed}/api/v1/objectives/cicd/checkins`, { method: 'DELETE', headers: auth })).status).toBe(405);
  });

  it('without server.auth: refuses writes on a listener beyond loopback, takes them on loopback from a local Host only', async () => {
    const open = configOf(yaml(''));
    const wide = await serve(open, '0.0.0.0');
    const refused = await post(wide, JSON.stringify({ confidence: 0.5 }));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toContain('server.auth');
    const local = await serve(open);
    expect((await post(local, JSON.stringify({ confidence: 0.7, by: 'bo' }))).status).toBe(201);
    const port = new URL(local).port;
    const rebinding = await new Promise<number>((resolve) => {
      void import('node:http').then(({ request }) => {
        const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/objectives/cicd/checkins', headers: { host: 'evil.example', 'content-type': 'application/json' } }, (res) => resolve(res.statusCode ?? 0));
        r.end('{"confidence":0.1}');
      });
    });
    expect(rebinding).toBe(403);
    expect(await redis.llen(`${prefix}:checkins:{cicd}`)).toBe(2);
  });
});

describe('krt checkin (CLI)', () => {
  const file = join(dir, 'okrs.yaml');
  const krt = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/krt.js', 'checkin', ...args, '-c', file, '--redis-url', REDIS_URL, '--prefix', prefix], { env: { ...process.env, LOG_LEVEL: 'silent' } });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (out += d));
      c.on('close', (code) => resolve({ code, out }));
    });

  it('stores through Redis what the API then lists; refuses bad input with exit 1', async () => {
    writeFileSync(file, yaml(''));
    const ok = await krt(['cicd', '--confidence', '0.4', '--note', 'Freeze ahead', '--by', 'cy']);
    expect(ok.code).toBe(0);
    const bad = await krt(['cicd', '--confidence', '4']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('--confidence is 4, outside 0..1');
    const unknown = await krt(['nope', '--confidence', '0.5']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('no objective "nope"');
    const list = (await (await fetch(`${authed}/api/v1/objectives/cicd/checkins`, { headers: auth })).json()) as { checkins: { by: string; confidence: number }[] };
    expect(list.checkins[0]).toMatchObject({ by: 'cy', confidence: 0.4 });
    expect(list.checkins).toHaveLength(3);
  }, 30_000);
});

describe('revisions and the digest', () => {
  it('records a mid-period target change once, with the --revise note, and scores against both targets', async () => {
    const checkins = createCheckinStore({ redis, prefix });
    const mid = Date.parse('2026-11-01T00:00:00Z');
    await checkins.recordRevisions(configOf(yaml('', 1)), mid);
    await checkins.add({ objectiveId: 'cicd', confidence: 0.5, note: '', by: 'ana', at: mid, revise: 'Payments freeze until December' }, ['deploy-frequency']);
    const changed = configOf(yaml('', 0.5));
    const recorded = await checkins.recordRevisions(changed, mid + DAY);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ fields: ['target'], note: 'Payments freeze until December' });
    expect(await checkins.recordRevisions(changed, mid + 2 * DAY)).toEqual([]);
    await new RedisStore({ redis, prefix }).putResult({ objectiveId: 'cicd', keyResultId: 'deploy-frequency', metric: 'deployment_frequency', unit: 'per_day', at: mid, evaluatedAt: Date.now(), value: 0.4, baseline: 0.2, target: 0.5, kind: 'increase', progress: 2 / 3, expected: 0.3, status: 'on_track', forecast: null, score: null, error: null });
    const url = await serve(changed);
    const rev = (await (await fetch(`${url}/api/v1/objectives/cicd/revisions`)).json()) as { keyResults: { revisions: { change: string }[]; scores: { original: { target: number; score: number }; revised: { target: number; score: number } } }[] };
    expect(rev.keyResults[0]!.revisions[0]!.change).toBe('target 1 -> 0.5');
    expect(rev.keyResults[0]!.scores).toEqual({ original: { target: 1, progress: 0.25, score: 0.3 }, revised: { target: 0.5, progress: expect.closeTo(2 / 3, 9), score: 0.7 } });
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(`okr_key_result_revision_timestamp_seconds{objective="cicd",key_result="deploy-frequency"} ${(mid + DAY) / 1000}`);
  });

  it('the digest shows the latest check-in and says when one is overdue; drift alerts give it as a reason', async () => {
    const config = configOf(yaml(''));
    const o = config.objectives[0]!;
    const latest = (await createCheckinStore({ redis, prefix }).latest(['cicd'])).get('cicd')!;
    const at = latest.at + 10 * DAY;
    const m = buildDigestMessage({ objective: { ...o, period: { start: latest.at - 30 * DAY, end: latest.at + 60 * DAY } }, results: new Map(), weekAgo: new Map(), at, checkin: latest }, { timezone: 'UTC' });
    const section = m.sections.find((s) => s.title === 'Check-in')!;
    expect(section.fields[0]!.value).toContain(`confidence ${latest.confidence} by ${latest.by}`);
    expect(section.fields[1]!.value).toContain('no check-in for 10 days since the last one (one is due every 7d)');
    expect(checkinDriftReason({ ...o, period: { start: latest.at - 30 * DAY, end: latest.at + 60 * DAY } }, latest.at, latest.at + 3 * DAY)).toBeNull();
  });
});
