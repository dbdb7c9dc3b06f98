// The docker-compose topology, run natively: the simulated GitHub, `krt serve`, two `krt worker`
// processes, Prometheus loading the generated alert rules, Alertmanager, and a local webhook that
// must receive the alert of a key result that is off track.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGithubDataset } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { loadConfig } from '../src/config/load.js';
import { generateAlertRules } from '../src/exporters/rules.js';
import { startAlertmanager } from './helpers/alertmanager.js';
import { freePort, until } from './helpers/net.js';
import { startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { REDIS_URL, testPrefix } from './helpers/redis.js';

const DAY = 86_400_000;
const { prefix, cleanup } = testPrefix();
const env = { GITHUB_TOKEN: 'stack-token', HOOK_SECRET: 'stack-hook-secret' } as Record<string, string>;
let sim: GithubSimulator;
let prom: RunningPrometheus;
let am: { address: string; stop(): Promise<void> };
let hook: Server;
const received: { status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] = [];
const drift: { headers: Record<string, string>; body: string }[] = [];
const procs: { name: string; child: ChildProcess; out: string }[] = [];
let dir: string;

const OKRS = (githubUrl: string, hookUrl: string) => `version: 1
sources:
  github: { token: "\${GITHUB_TOKEN}", baseUrl: "${githubUrl}" }
schedule: { sync: 1m, evaluate: 10s }
alerts:
  channels:
    audit: { type: webhook, url: "${hookUrl}", secret: "\${HOOK_SECRET}" }
  for: { status: 0s }
objectives:
  - id: delivery
    title: Ship to production many times a day
    owner: platform-team
    period: { start: 2026-10-01, end: 2026-12-31 }
    notify: [audit]
    keyResults:
      - id: deploy-frequency
        title: Increase deployment frequency to 50 a day
        metric: deployment_frequency
        repos: [acme/payments, acme/checkout]
        baseline: 0.01
        target: 50
`;

function krt(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['bin/krt.js', ...args], { env: { ...process.env, ...env, REDIS_URL, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { name, child, out: '' };
  child.stdout?.on('data', (d: Buffer) => (p.out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (p.out += d.toString()));
  procs.push(p);
  return child;
}

beforeAll(async () => {
  const now = Date.now();
  sim = await startGithubSimulator({ dataset: generateGithubDataset({ seed: 4, repos: ['acme/payments', 'acme/checkout'], from: new Date(now - 60 * DAY), to: new Date(now - 60_000) }), token: 'stack-token' });
  env.GITHUB_API_URL = sim.url;
  dir = await mkdtemp(join(tmpdir(), 'krt-stack-'));
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/krt') drift.push({ headers: req.headers as Record<string, string>, body });
      else received.push(JSON.parse(body) as (typeof received)[number]);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const file = join(dir, 'okrs.yaml');
  await writeFile(file, OKRS(sim.url, `http://127.0.0.1:${(hook.address() as { port: number }).port}/krt`));
  am = await startAlertmanager(`http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`);

  const port = await freePort();
  krt('serve', ['serve', '--config', file, '--port', String(port), '--host', '127.0.0.1', '--prefix', prefix]);
  krt('worker-1', ['worker', '--config', file, '--prefix', prefix]);
  krt('worker-2', ['worker', '--config', file, '--prefix', prefix]);
  await until('krt serve ready', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 30_000);

  const config = await loadConfig(file, env);
  const rules = generateAlertRules(config, { offTrackFor: '1s', atRiskFor: '1s' });
  prom = await startPrometheus([`127.0.0.1:${port}`], { rules, alertmanager: am.address });
}, 120_000);

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await prom?.stop();
  await am?.stop();
  await new Promise((r) => hook?.close(r));
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
  await cleanup();
});

describe('the stack, natively', () => {
  it('delivers OKRKeyResultOffTrack from the generated rules through Alertmanager to a webhook', async () => {
    const alert = await until(
      'the off-track alert at the webhook',
      async () => received.flatMap((r) => r.alerts).find((a) => a.labels.alertname === 'OKRKeyResultOffTrack' && a.status === 'firing'),
      90_000,
      500,
    );
    expect(alert.labels).toMatchObject({ objective: 'delivery', key_result: 'deploy-frequency', owner: 'platform-team', severity: 'critical' });
    expect(alert.annotations.summary).toContain('Increase deployment frequency to 50 a day');
    expect(alert.annotations.dashboard).toMatch(/\/d\/krt-delivery$/);
    const [status] = await prom.query('okr_key_result_status{key_result="deploy-frequency",status="off_track"}');
    expect(status?.value[1]).toBe('1');
  }, 120_000);

  it("sends krt's own drift alert to the objective's webhook, signed, once", async () => {
    const msg = await until('the drift alert at the webhook', async () => drift.find((d) => JSON.parse(d.body).action === 'trigger'), 60_000, 250);
    const ts = msg.headers['x-krt-timestamp']!;
    const want = 'sha256=' + createHmac('sha256', 'stack-hook-secret').update(`${ts}.${msg.body}`).digest('hex');
    expect(msg.headers['x-krt-signature']).toBe(want);
    expect(msg.body).toContain('deploy-frequency');
    expect(msg.body).not.toContain('stack-hook-secret');
    // Evaluations go on every 10 s; after two more, the alert is still open and was not sent again.
    const sentAt = Number(ts);
    await until('two evaluations after the alert', async () => {
      const [r] = await prom.query('okr_key_result_last_evaluation_timestamp_seconds{key_result="deploy-frequency"}');
      return r && Number(r.value[1]) > sentAt + 15 ? true : undefined;
    }, 60_000, 500);
    expect(drift.filter((d) => JSON.parse(d.body).action === 'trigger')).toHaveLength(1);
  }, 90_000);

  it('stops every process cleanly on SIGTERM', async () => {
    const codes = await Promise.all(
      procs.map(
        (p) =>
          new Promise<[string, number | null]>((resolve) => {
            p.child.once('exit', (code) => resolve([p.name, code]));
            p.child.kill('SIGTERM');
          }),
      ),
    );
    expect(codes).toEqual([
      ['serve', 0],
      ['worker-1', 0],
      ['worker-2', 0],
    ]);
  }, 60_000);
});
