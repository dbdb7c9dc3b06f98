// End to end: the simulated GitHub, `krt serve` as a real process on the real Redis, and a real
// Prometheus scraping it; the key result is read back through Prometheus' HTTP API and checked
// against the number computed independently from the simulated data.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { expectedDeploymentFrequency } from './helpers/expected.js';
import { freePort, until } from './helpers/net.js';
import { startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const REPOS = ['acme/payments', 'acme/checkout'];
const PERIOD_START = Date.parse('2026-10-01T00:00:00Z');
const { prefix, cleanup } = testPrefix();
let sim: GithubSimulator;
let prom: RunningPrometheus;
let krt: ChildProcess;
let krtUrl: string;
let output = '';

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({
    dataset: generateGithubDataset({ seed: 11, repos: REPOS, from: new Date(now - 150 * DAY), to: new Date(now - 60_000) }),
    token: 'e2e-token',
  });
  const port = await freePort();
  krtUrl = `http://127.0.0.1:${port}`;
  krt = spawn(process.execPath, ['bin/krt.js', 'serve', '--config', 'config/okrs.example.yaml', '--port', String(port), '--host', '127.0.0.1', '--prefix', prefix], {
    env: {
      ...process.env,
      REDIS_URL,
      GITHUB_TOKEN: 'e2e-token',
      GITHUB_API_URL: sim.url,
      PAGERDUTY_TOKEN: 'unused',
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/unused',
      PD_ROUTING_KEY: 'unused',
      HOOK_SECRET: 'unused',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  krt.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  krt.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await until(`krt serve ready (${output.slice(-2000)})`, async () => ((await fetch(`${krtUrl}/readyz`)).ok ? true : undefined), 30_000);
  prom = await startPrometheus([`127.0.0.1:${port}`]);
}, 90_000);

afterAll(async () => {
  if (krt.exitCode === null) krt.kill('SIGKILL');
  await prom?.stop();
  await sim?.close();
  await cleanup();
});

describe('GitHub -> krt serve -> Prometheus', () => {
  it('serves the deployment_frequency key result through Prometheus with the independently computed value', async () => {
    const sel = '{objective="cicd",key_result="deploy-frequency"}';
    // Both repositories synced, then an evaluation after that: the value in Prometheus is final.
    const synced = await until('both streams synced', async () => {
      const r = await prom.query(`krt_source_last_sync_success_timestamp_seconds{stream="deployments"}`);
      return r.length === 2 ? Math.max(...r.map((s) => Number(s.value[1]))) : undefined;
    });
    const evaluatedAt = await until('an evaluation after the sync', async () => {
      const [r] = await prom.query(`okr_key_result_last_evaluation_timestamp_seconds${sel}`);
      const [v] = await prom.query(`okr_key_result_value${sel}`);
      return r && v && Number(r.value[1]) >= synced ? Number(r.value[1]) : undefined;
    });
    // The evaluation read back is the one at `evaluatedAt`; wait until Prometheus has scraped it.
    const read = async (m: string) => {
      const [r] = await prom.query(`${m}${sel}`);
      return r ? Number(r.value[1]) : null;
    };
    await until('scrape of that evaluation', async () => ((await read('okr_key_result_last_evaluation_timestamp_seconds')) === evaluatedAt ? true : undefined));
    const at = evaluatedAt * 1000;

    const value = await read('okr_key_result_value');
    const expected = expectedDeploymentFrequency(sim.dataset, REPOS, 'production', at, 28);
    expect(expected).toBeGreaterThan(0);
    expect(value).toBeCloseTo(expected, 9);

    // No baseline in the example: measured at the period start from the same events.
    const baseline = expectedDeploymentFrequency(sim.dataset, REPOS, 'production', PERIOD_START, 28);
    expect(await read('okr_key_result_baseline')).toBeCloseTo(baseline, 9);
    expect(await read('okr_key_result_target')).toBe(1);
    const progress = Math.min(1, Math.max(0, (expected - baseline) / (1 - baseline)));
    expect(await read('okr_key_result_progress_ratio')).toBeCloseTo(progress, 9);

    const statuses = await prom.query(`okr_key_result_status${sel} == 1`);
    expect(statuses).toHaveLength(1);
    const info = await prom.query(`okr_key_result_info${sel}`);
    expect(info[0]?.metric).toMatchObject({ title: 'Increase deployment frequency to daily', owner: 'platform-team', unit: 'per_day' });

    // Key results whose metric is not measured yet are reported as no_data, not hidden.
    const p99 = await prom.query('okr_key_result_status{key_result="payments-p99",status="no_data"}');
    expect(p99[0]?.value[1]).toBe('1');
  }, 120_000);

  it('answers /healthz, /readyz and the JSON API, and refuses what it does not serve', async () => {
    expect((await fetch(`${krtUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${krtUrl}/readyz`)).status).toBe(200);
    // The same shape as `krt run --once --json`: { at, objectives }.
    const api = (await (await fetch(`${krtUrl}/api/v1/objectives`)).json()) as { at: string; objectives: { id: string; keyResultsWithoutData: number; keyResults: { id: string }[] }[] };
    expect(Number.isNaN(Date.parse(api.at))).toBe(false);
    expect(api.objectives.map((o) => o.id)).toEqual(['cicd', 'payments-reliability', 'developer-feedback']);
    for (const o of api.objectives) expect(o.keyResultsWithoutData).toBeGreaterThanOrEqual(0);
    const missing = await fetch(`${krtUrl}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('/metrics');
    expect((await fetch(`${krtUrl}/metrics`, { method: 'POST' })).status).toBe(405);
    const metrics = await fetch(`${krtUrl}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('krt status prints the running service\'s key results with progress bars', async () => {
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/krt.js', 'status', '--url', krtUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      c.on('exit', (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/deploy-frequency +[\d.]+\/day -> 1\.00\/day +\[[#.|]{20}\] (on_track|at_risk|off_track|achieved)/);
    expect(out.stdout).toMatch(/payments-p99 .* no_data/);
  });

  it('exits cleanly on SIGTERM', async () => {
    krt.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => krt.once('exit', (c) => resolve(c)));
    expect(code, output.slice(-2000)).toBe(0);
    expect(output).toContain('stopped');
  }, 30_000);
});
