// Issues "visible progress" and "run --once exit codes": the built `krt` against the simulated
// GitHub reports each stream that did not finish on stderr (failed with the reason, waiting for the
// rate limit until when), exits 2 when any did, waits for a reset only with --wait, and a key
// result whose environment has no deployments says which environments the repository has.
// Needs `npm run build`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { startHttpServer } from '../src/exporters/http.js';
import { createLogger } from '../src/lib/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { config, keyResult, objective } from './helpers/config.js';
import { freePort } from './helpers/net.js';

const DAY = 86_400_000;
const TOKEN = 'exit-token';
const NOW = Date.now();
let dir: string;
let configFile: string;
const sims: GithubSimulator[] = [];

const sim = async (clock?: () => number) => {
  const s = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 9, repos: ['acme/payments'], from: new Date(NOW - 60 * DAY), to: new Date(NOW) }),
    token: TOKEN,
    now: clock,
  });
  sims.push(s);
  return s;
};

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'krt-exit-'));
  configFile = join(dir, 'okrs.yaml');
  await writeFile(
    configFile,
    [
      'version: 1',
      'timezone: UTC',
      'sources:',
      '  github:',
      '    token: ${GITHUB_TOKEN}',
      '    baseUrl: ${GITHUB_API_URL}',
      'objectives:',
      '  - id: cicd',
      '    title: Ship to production every day',
      '    owner: platform-team',
      `    period: { start: ${day(NOW - 30 * DAY)}, end: ${day(NOW + 60 * DAY)} }`,
      '    keyResults:',
      '      - id: deploy-frequency',
      '        title: Increase deployment frequency to daily',
      '        metric: deployment_frequency',
      '        repos: [acme/payments]',
      '        deployments: { source: deployments, environment: ${DEPLOY_ENV:-production} }',
      '        window: 28d',
      '        target: 1',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  for (const s of sims) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const krt = (args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', TZ: 'UTC', GITHUB_TOKEN: TOKEN, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });

const STREAM = 'github deployments acme/payments@production';

interface RunJson {
  objectives: { keyResults: { id: string; value: number | null; error: string | null }[] }[];
  sources: { source: string; stream: string; key: string; state: string; progress: number | null; waitingUntil: string | null; lastSuccessAt: string | null; lastError: string | null; note: string | null; requests: number }[];
}
const krOf = (out: RunJson) => out.objectives[0]!.keyResults[0]!;

describe('krt run --once exit codes', () => {
  it('exits 0 when every stream synced, with the sources in the JSON', async () => {
    const gh = await sim();
    const r = await krt(['run', '--once', '--json', '-c', configFile], { GITHUB_API_URL: gh.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as RunJson;
    expect(krOf(out).value).not.toBeNull();
    expect(out.sources).toEqual([
      expect.objectContaining({ source: 'github', stream: 'deployments', key: 'acme/payments@production', state: 'synced', progress: 1, waitingUntil: null, lastError: null, note: null }),
    ]);
  });

  it('exits 2 on a 401 with a line naming the stream and the token setting; stdout still has the table', async () => {
    const gh = await sim();
    const r = await krt(['run', '--once', '-c', configFile], { GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'wrong-token' });
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.startsWith(`krt: ${STREAM}: failed: `));
    expect(line, r.stderr).toBeDefined();
    expect(line).toContain('401');
    expect(line).toContain('sources.github.token');
    expect(r.stderr).toContain('1 of 1 streams did not finish');
    expect(r.stderr).not.toContain('wrong-token');
    expect(r.stdout).toMatch(/deploy-frequency .* no_data/);
  });

  it('exits 2 soon against an unreachable GitHub (a closed port), saying the connection was refused', async () => {
    const port = await freePort();
    const r = await krt(['run', '--once', '-c', configFile], { GITHUB_API_URL: `http://127.0.0.1:${port}` });
    console.log(`run --once against a closed port: exit ${r.code} after ${r.ms} ms`);
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.startsWith(`krt: ${STREAM}: failed: `));
    expect(line, r.stderr).toBeDefined();
    expect(line).toMatch(/ECONNREFUSED|connection refused/i);
  });

  it('stops trying the streams of a source after two of them failed in a row without an answer', async () => {
    const port = await freePort();
    const closed = `http://127.0.0.1:${port}`;
    const env = { GITHUB_API_URL: closed, PAGERDUTY_TOKEN: 'pd', PAGERDUTY_API_URL: closed, SLACK_WEBHOOK_URL: 'https://hooks.example.com/x', PD_ROUTING_KEY: 'k', HOOK_SECRET: 's' };
    const r = await krt(['run', '--once', '--json', '-c', 'config/okrs.example.yaml'], env);
    console.log(`run --once of the example config against closed ports: exit ${r.code} after ${r.ms} ms`);
    expect(r.code).toBe(2);
    const sources = (JSON.parse(r.stdout) as RunJson).sources;
    const github = sources.filter((s) => s.source === 'github');
    expect(github.length).toBeGreaterThan(2);
    for (const s of sources) expect(s.state, s.key).toBe('failed');
    for (const s of github.slice(0, 2)) expect(s.lastError, s.key).toMatch(/^GitHub GET .*connection refused/);
    for (const s of github.slice(2)) expect(s.lastError, s.key).toMatch(/^not tried: the last 2 streams of github failed \(GitHub GET .*connection refused/);
    expect(sources.find((s) => s.source === 'pagerduty')?.lastError).toMatch(/ECONNREFUSED/);
    expect(r.stderr).toContain(`${sources.length} of ${sources.length} streams did not finish`);
  });

  it('exits 2 naming the reset time when the rate limit is spent, without waiting for it', async () => {
    const gh = await sim();
    gh.setRateLimit(5000, 0);
    const reset = Number((await fetch(`${gh.url}/rate_limit`, { headers: { authorization: `token ${TOKEN}` } })).headers.get('x-ratelimit-reset')) * 1000;
    const r = await krt(['run', '--once', '--json', '-c', configFile], { GITHUB_API_URL: gh.url });
    console.log(`run --once with the rate limit spent for an hour: exit ${r.code} after ${r.ms} ms`);
    expect(r.code).toBe(2);
    const hhmm = new Date(reset).toISOString().slice(11, 16);
    expect(r.stderr).toMatch(new RegExp(`^krt: ${STREAM}: waiting for the rate limit until (\\d{4}-\\d\\d-\\d\\d )?${hhmm}; run with --wait`, 'm'));
    const out = JSON.parse(r.stdout) as RunJson;
    expect(out.sources[0]).toMatchObject({ state: 'waiting', waitingUntil: new Date(reset).toISOString() });
    expect(krOf(out).value).toBeNull();
  });

  it('with --wait, waits for a short reset and completes', async () => {
    // The simulator opens its hour-long rate-limit window at the first reading of its clock: that
    // reading is an hour minus 10 s ago, the later ones are the real time, so the limit resets 10 s from now
    // (longer than the few seconds a request itself waits in one-shot mode).
    let opened = false;
    const gh = await sim(() => (opened ? Date.now() : ((opened = true), Date.now() - 3_600_000 + 10_000)));
    gh.setRateLimit(5000, 0);
    const r = await krt(['run', '--once', '--json', '--wait', '-c', configFile], { GITHUB_API_URL: gh.url });
    console.log(`run --once --wait with a reset 10 s away: exit ${r.code} after ${r.ms} ms`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^krt: ${STREAM}: waiting for the rate limit until \\d\\d:\\d\\d \\(--wait\\)$`, 'm'));
    const out = JSON.parse(r.stdout) as RunJson;
    expect(out.sources[0]).toMatchObject({ state: 'synced', waitingUntil: null });
    expect(krOf(out).value).not.toBeNull();
    expect(gh.counts().rateLimited).toBeGreaterThan(0);
  });
});

describe('a key result that matched nothing says why', () => {
  it('names the environments the repository has when its environment has no deployments', async () => {
    const gh = await sim();
    const r = await krt(['run', '--once', '--json', '-c', configFile], { GITHUB_API_URL: gh.url, DEPLOY_ENV: 'prod' });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RunJson;
    expect(krOf(out).value).toBe(0);
    expect(krOf(out).error).toBe('acme/payments: no deployments in environment "prod"; this repository has: production, staging');
    expect(out.sources[0]).toMatchObject({ key: 'acme/payments@prod', state: 'synced', note: 'no deployments in environment "prod"; this repository has: production, staging' });
    expect(gh.counts().byRoute['GET /repos/{owner}/{repo}/environments']).toBe(1);
  });

  it('asks nothing more when the environment has deployments', async () => {
    const gh = await sim();
    const r = await krt(['run', '--once', '--json', '-c', configFile], { GITHUB_API_URL: gh.url });
    expect(r.code, r.stderr).toBe(0);
    expect(krOf(JSON.parse(r.stdout) as RunJson).error).toBeNull();
    expect(gh.counts().byRoute['GET /repos/{owner}/{repo}/environments']).toBeUndefined();
  });
});

describe('krt status --once', () => {
  it('shows each stream under the key results: synced, or failed with the reason', async () => {
    const gh = await sim();
    const ok = await krt(['status', '--once', '-c', configFile], { GITHUB_API_URL: gh.url });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^Sources\\n  ${STREAM}  synced$`, 'm'));
    const bad = await krt(['status', '--once', '-c', configFile], { GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'wrong-token' });
    expect(bad.stdout).toMatch(new RegExp(`^  ${STREAM}  failed: GitHub GET .* answered 401 .*sources\\.github\\.token`, 'm'));
  });
});

describe('krt status --url', () => {
  it('shows the service\'s streams: a sync at 42%, one waiting for the rate limit until its reset, one not synced yet', async () => {
    const cfg = config({ objectives: [objective({ keyResults: [keyResult({ repos: ['acme/payments', 'acme/checkout', 'acme/ledger'] })] })] });
    const store = new MemoryStore();
    const reset = Date.parse('2031-05-06T14:05:00Z');
    const h = { lastAttemptAt: NOW, lastSuccessAt: null, lastError: null, lastDurationMs: 0, requests: 1, notModified: 0, failures: 0, eventsStored: 0, rateLimitRemaining: null };
    await store.putSourceHealth({ ...h, stream: { source: 'github', stream: 'deployments', key: 'acme/payments@production' }, state: 'syncing', progress: 0.42 });
    await store.putSourceHealth({ ...h, stream: { source: 'github', stream: 'deployments', key: 'acme/checkout@production' }, state: 'waiting', waitingUntil: reset, lastError: 'rate limit exceeded' });
    const now = () => Date.now();
    const http = await startHttpServer({ store, config: () => cfg, now, logger: createLogger('silent'), ready: async () => true, host: '127.0.0.1', port: 0 });
    try {
      const r = await krt(['status', '--url', http.url], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ {2}github deployments acme\/payments@production {2}42%$/m);
      expect(r.stdout).toMatch(/^ {2}github deployments acme\/checkout@production {2}waiting for the rate limit until 2031-05-06 14:05$/m);
      expect(r.stdout).toMatch(/^ {2}github deployments acme\/ledger@production {4}not synced yet$/m);
    } finally {
      await http.close();
    }
  });
});
